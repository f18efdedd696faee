"""Eurostat's code lists used by the release, as data.

Eurostat codes countries with ISO 3166-1 alpha-2, except Greece (EL) and the United
Kingdom (UK); the reporting country itself is NAT in citizenship and country-of-birth
breakdowns. Ages are single years (Y_LT1, Y1 ... Y99, Y_GE100) or five-year groups
(Y_LT5, Y5-9 ... Y80-84, Y_GE85); TOTAL is the sum of a breakdown and UNK its unknowns.
"""

from __future__ import annotations

from functools import cache

import pycountry

TOTAL = "TOTAL"
UNKNOWN = "UNK"
#: The reporting country (citizens / native-born) in citizenship and birth breakdowns.
NATIONAL = "NAT"
#: All other countries together.
FOREIGN = "FOR"

#: Where Eurostat's geo codes differ from ISO 3166-1 alpha-2.
EUROSTAT_COUNTRY_EXCEPTIONS: dict[str, str] = {"GRC": "EL", "GBR": "UK"}
#: Stateless persons: ICAO's XXA, Eurostat's STLS (a citizenship, not a country).
STATELESS = "STLS"
ICAO_STATELESS = "XXA"
#: Citizens of the 27 EU member states (since 2020), other than the reporting country.
EU27_FOREIGN = "EU27_2020_FOR"
#: Citizens of countries outside the EU27, stateless persons included.
NON_EU27_FOREIGN = "NEU27_2020_FOR"
#: The 27 member states, as Eurostat codes.
EU27_2020: tuple[str, ...] = (
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "EL", "ES", "FI", "FR", "HR", "HU",
    "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
)

#: Sex: T(otal) = M + F + UNK.
SEX_TOTAL = "T"
#: Codes meaning "all categories of this breakdown": a cell's identity omits them.
TOTAL_CODES = frozenset({TOTAL, SEX_TOTAL})
SEX_CODES: tuple[str, ...] = ("M", "F", UNKNOWN)

#: Age classifications: code -> (first age, last age) in completed years, inclusive.
SINGLE_YEAR_AGES: tuple[tuple[str, int, int], ...] = (
    (("Y_LT1", 0, 0),)
    + tuple((f"Y{a}", a, a) for a in range(1, 100))
    + (("Y_GE100", 100, 200),)
)
FIVE_YEAR_AGES: tuple[tuple[str, int, int], ...] = (
    (("Y_LT5", 0, 4),)
    + tuple((f"Y{a}-{a + 4}", a, a + 4) for a in range(5, 85, 5))
    + (("Y_GE85", 85, 200),)
)
AGE_CLASSIFICATIONS = {"single_year": SINGLE_YEAR_AGES, "five_year": FIVE_YEAR_AGES}
#: First age of the open single-year group (Y_GE100): ages from it on share one code.
OPEN_SINGLE_YEAR = SINGLE_YEAR_AGES[-1][1]

#: Eurostat dataflow agency and version used in SDMX-CSV.
SDMX_AGENCY = "ESTAT"
SDMX_VERSION = "1.0"
#: Observation flag Eurostat uses for a confidential (suppressed) value.
FLAG_CONFIDENTIAL = "c"


@cache
def eurostat_country(alpha3: str | None) -> str:
    """Eurostat geo code of an ISO alpha-3 country; UNK when missing or not a country."""
    if not alpha3:
        return UNKNOWN
    code = alpha3.strip().upper()
    if code in EUROSTAT_COUNTRY_EXCEPTIONS:
        return EUROSTAT_COUNTRY_EXCEPTIONS[code]
    if code == ICAO_STATELESS:
        return STATELESS
    country = pycountry.countries.get(alpha_3=code)
    return country.alpha_2 if country is not None else UNKNOWN


def country_map_rows() -> list[tuple[str, str]]:
    """(alpha-3, Eurostat code) for every ISO country and for the stateless: loaded as
    _country_map for SQL."""
    return [(c.alpha_3, eurostat_country(c.alpha_3)) for c in pycountry.countries] + [
        (ICAO_STATELESS, STATELESS)]


def age_code_sql(column: str, classification: str) -> str:
    """SQL CASE giving the Eurostat age code of an age in completed years."""
    groups = AGE_CLASSIFICATIONS[classification]
    whens = " ".join(
        f"WHEN {column} BETWEEN {low} AND {high} THEN '{code}'" for code, low, high in groups
    )
    return f"CASE WHEN {column} IS NULL OR {column} < 0 THEN '{UNKNOWN}' {whens} " \
        f"ELSE '{UNKNOWN}' END"


def age_codes(classification: str) -> tuple[str, ...]:
    return tuple(code for code, _, _ in AGE_CLASSIFICATIONS[classification])


def age_groups(classification: str) -> tuple[tuple[str, int, int], ...]:
    """(code, first age, last age) of each group of a classification."""
    return AGE_CLASSIFICATIONS[classification]


def sex_code_sql(column: str) -> str:
    return f"CASE WHEN {column} IN ('M', 'F') THEN {column} ELSE '{UNKNOWN}' END"
