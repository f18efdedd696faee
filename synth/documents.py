"""Travel documents: passports (renewed with new numbers), second passports of dual
citizens, national ID cards, and the passport a naturalised person receives."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from regmig.synth.population import PERSONA_CODE, Population
from regmig.synth.timeline import NO_DAY, Span
from regmig.synth.travel import MODE_LAND, Crossings

PASSPORT, ID_CARD = 0, 1
DOCUMENT_TYPES = ("passport", "id_card")
#: Share of people whose passport is renewed (a new number) within the simulated years.
RENEWAL_SHARE = 0.3
#: Share of trips on which a dual citizen uses the second passport.
SECOND_PASSPORT_TRIP_SHARE = 0.4
#: Share of citizens holding a national ID card, and of their land trips made with it.
ID_CARD_SHARE = 0.5
ID_CARD_LAND_TRIP_SHARE = 0.6
#: Document numbers are two letters and seven digits; ID cards ten digits.
_NUMBER_SPACE = 26 * 26 * 10**7
_NUMBER_STRIDE = 2_654_435_761  # coprime with the space: a bijection scatters numbers


@dataclass
class Documents:
    """All documents (index = document id) and each person's documents (-1: none)."""

    person: np.ndarray
    kind: np.ndarray  # PASSPORT | ID_CARD
    country: np.ndarray  # int16 issuing country
    number: pl.Series  # str
    passport: np.ndarray  # per person: first passport
    renewed_on: np.ndarray  # per person: day the passport was renewed, NO_DAY if not
    renewed_passport: np.ndarray
    second_passport: np.ndarray
    id_card: np.ndarray
    naturalised_passport: np.ndarray

    def valid_on(self, person: np.ndarray, days: np.ndarray,
                 naturalised_on: np.ndarray) -> np.ndarray:
        """The main passport a person holds on a day (after renewal or naturalisation)."""
        doc = np.where((self.renewed_on[person] != NO_DAY) & (days >= self.renewed_on[person]),
                       self.renewed_passport[person], self.passport[person])
        nat = (naturalised_on[person] != NO_DAY) & (days >= naturalised_on[person])
        return np.where(nat, self.naturalised_passport[person], doc)


def issue_documents(rng: np.random.Generator, pop: Population, span: Span,
                    home: int) -> Documents:
    n = len(pop)
    kinds: list[np.ndarray] = []
    owners: list[np.ndarray] = []
    countries: list[np.ndarray] = []
    next_id = 0

    def issue(holders: np.ndarray, kind: int, country: np.ndarray) -> np.ndarray:
        nonlocal next_id
        per_person = np.full(n, -1, dtype=np.int64)
        ids = next_id + np.arange(len(holders), dtype=np.int64)
        next_id += len(holders)
        per_person[holders] = ids
        owners.append(holders)
        kinds.append(np.full(len(holders), kind, dtype=np.int8))
        countries.append(country.astype(np.int16))
        return per_person

    # newborns have no passport yet
    holders = np.flatnonzero(pop.persona != PERSONA_CODE["birth"])
    passport = issue(holders, PASSPORT, pop.citizenship[holders])
    renews = np.zeros(n, dtype=bool)
    renews[holders] = rng.random(len(holders)) < RENEWAL_SHARE
    renewed_on = np.full(n, NO_DAY, dtype=np.int64)
    renewed_on[renews] = rng.integers(span.start + 1, span.horizon, size=int(renews.sum()))
    renewers = np.flatnonzero(renews)
    renewed_passport = issue(renewers, PASSPORT, pop.citizenship[renewers])
    duals = np.flatnonzero(pop.second_citizenship >= 0)
    second_passport = issue(duals, PASSPORT, pop.second_citizenship[duals])
    citizens = holders[pop.citizenship[holders] == home]
    carded = citizens[rng.random(len(citizens)) < ID_CARD_SHARE]
    id_card = issue(carded, ID_CARD, np.full(len(carded), home))
    nat = np.flatnonzero(pop.naturalised_on != NO_DAY)
    naturalised_passport = issue(nat, PASSPORT, np.full(len(nat), home))

    kind = np.concatenate(kinds)
    number = _numbers(kind)
    return Documents(np.concatenate(owners), kind, np.concatenate(countries), number,
                     passport, renewed_on, renewed_passport, second_passport, id_card,
                     naturalised_passport)


def _numbers(kind: np.ndarray) -> pl.Series:
    """Distinct document numbers: an affine bijection of the document id scatters them."""
    k = (np.arange(len(kind), dtype=np.int64) * _NUMBER_STRIDE + 12_345_678) % _NUMBER_SPACE
    letters = np.array([a + b for a in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                        for b in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"])
    prefix = pl.Series(letters[k // 10**7])
    digits = pl.Series(k % 10**7).cast(pl.String).str.zfill(7)
    card_digits = pl.Series(k).cast(pl.String).str.zfill(10)
    passport = prefix + digits
    return pl.select(pl.when(pl.Series(kind) == ID_CARD).then(card_digits)
                     .otherwise(passport)).to_series().alias("number")


def document_of_crossings(rng: np.random.Generator, c: Crossings, docs: Documents,
                          pop: Population, land_id_card_place: np.ndarray) -> np.ndarray:
    """The document shown at each crossing; one choice per trip, so a person leaves and
    comes back on the same document."""
    n_trips = int(c.trip.max()) + 1 if len(c) else 0
    u_second = rng.random(n_trips)[c.trip]
    u_card = rng.random(n_trips)[c.trip]
    doc = docs.valid_on(c.person, c.day, pop.naturalised_on)
    second = docs.second_passport[c.person]
    use_second = (second >= 0) & (u_second < SECOND_PASSPORT_TRIP_SHARE)
    doc = np.where(use_second, second, doc)
    card = docs.id_card[c.person]
    use_card = ((card >= 0) & (c.mode == MODE_LAND) & land_id_card_place[c.place]
                & (u_card < ID_CARD_LAND_TRIP_SHARE) & ~use_second)
    return np.where(use_card, card, doc)
