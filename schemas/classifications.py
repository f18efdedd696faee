"""Code lists of the deliveries (docs/design.md §3), as data.

Validation checks delivered values against these domains; later stages use the same
tuples to label and order categories, so a code list is changed in one place only.
Countries come from pycountry (ISO 3166-1 alpha-3), not from a hand-kept list.
"""

from __future__ import annotations

from functools import lru_cache

import pycountry

SOURCES: tuple[str, ...] = ("border_crossings", "population_register", "permits")

DIRECTIONS: tuple[str, ...] = ("arrival", "departure")
TRANSPORT_MODES: tuple[str, ...] = ("air", "land", "rail", "sea", "other")
SEXES: tuple[str, ...] = ("M", "F")
DEREGISTRATION_REASONS: tuple[str, ...] = ("emigration", "death", "administrative", "other")
PERMIT_TYPES: tuple[str, ...] = ("work", "study", "family", "humanitarian", "asylum", "other")
APPLICATION_KINDS: tuple[str, ...] = ("first", "extension", "renewal", "appeal")
DECISIONS: tuple[str, ...] = ("granted", "refused", "pending")

#: Codes that ICAO Doc 9303 (Part 3) allows in the nationality and issuing-state fields of
#: travel documents besides ISO 3166-1: stateless person, refugee (1951 Convention),
#: refugee (other instrument), unspecified nationality. Refugee travel documents carry
#: them, so border crossings do.
ICAO_SPECIAL_NATIONALITY_CODES: tuple[str, ...] = ("XXA", "XXB", "XXC", "XXX")


@lru_cache(maxsize=1)
def iso_alpha3() -> tuple[str, ...]:
    """Every ISO 3166-1 alpha-3 code known to pycountry, sorted."""
    return tuple(sorted(country.alpha_3 for country in pycountry.countries))


@lru_cache(maxsize=1)
def country_codes() -> tuple[str, ...]:
    """Codes accepted in country columns: ISO 3166-1 alpha-3 plus the ICAO special codes."""
    return iso_alpha3() + ICAO_SPECIAL_NATIONALITY_CODES


def country_name(code: str) -> str | None:
    """English short name of an ISO alpha-3 code (None for an unknown code)."""
    country = pycountry.countries.get(alpha_3=code)
    return country.name if country else None
