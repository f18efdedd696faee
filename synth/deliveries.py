"""The three deliveries as docs/design.md §3 defines them, and which true person each record
belongs to."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from regmig.synth.countries import REGION_WEIGHTS, REGIONS
from regmig.synth.documents import DOCUMENT_TYPES, Documents, document_of_crossings
from regmig.synth.labels import dates, flag_labels, labels
from regmig.synth.names import NameTable
from regmig.synth.noise import Identity, NoiseRates, household_dobs, write_identity
from regmig.synth.permits import DECISIONS, KINDS, PERMIT_TYPES, Applications
from regmig.synth.population import PERSONA_CODE, Population
from regmig.synth.register import REASONS, Spells
from regmig.synth.timeline import NO_DAY, Span
from regmig.synth.travel import MODE_LAND, MODE_RAIL, MODES, Crossings, LifeEvents

CROSSING_COLUMNS = (
    "record_id", "crossed_at", "direction", "border_point", "transport_mode", "document_type",
    "document_number", "document_country", "citizenship", "sex", "date_of_birth",
    "given_name", "surname", "country_of_birth", "country_of_residence",
    "origin_destination", "travel_purpose",
)
REGISTER_COLUMNS = (
    "record_id", "person_pin", "given_name", "surname", "sex", "date_of_birth",
    "country_of_birth", "citizenship", "second_citizenship", "registered_from",
    "deregistered_on", "deregistration_reason", "document_number", "document_country",
    "region",
)
PERMIT_COLUMNS = (
    "record_id", "permit_id", "permit_type", "application_kind", "application_date",
    "decision", "decision_date", "valid_from", "valid_to", "document_number",
    "document_country", "given_name", "surname", "sex", "date_of_birth", "citizenship",
    "country_of_birth",
)
#: Border points: the two airports, the road crossings to Georgia and Iran, the railway.
AIRPORTS = ("EVN", "LWN")
AIRPORT_WEIGHTS = (0.9, 0.1)
ROAD_POINTS = {"GEO": ("BAGRATASHEN", "BAVRA", "GOGAVAN"), "IRN": ("AGARAK",)}
DEFAULT_ROAD_POINT = "BAGRATASHEN"
RAIL_POINT = "AYRUM"
#: Declared purposes of foreigners' arrivals, by persona.
PURPOSES = ("tourism", "business", "family", "work", "study", "other")
PURPOSE_OF_PERSONA = {"immigrant_work": "work", "seasonal_worker": "work",
                      "edge_visitor": "work", "immigrant_study": "study",
                      "immigrant_family": "family", "foreign_resident": "family",
                      "naturalised": "family", "asylum_seeker": "other"}
VISITOR_PURPOSE_WEIGHTS = (0.75, 0.15, 0.1)
#: Crossing records are built this many at a time (bounds memory; part of the output's
#: definition, since the random draws follow the chunks).
RECORD_CHUNK = 1_000_000
_PIN_SPACE = 10**10
_PIN_STRIDE = 7_919_000_003


@dataclass
class Delivered:
    frame: pl.DataFrame  # the delivery, docs/design.md §3 columns, rows in delivery order
    person: np.ndarray  # true person index of each row
    flags: dict[str, np.ndarray]  # noise applied to each row
    #: the true identifying details of each row (None once the rows are written out)
    clean: Identity | None


def _household_dob(pop: Population, rates: NoiseRates, p: np.ndarray) -> np.ndarray | None:
    """A household member's date of birth per record, for the hard noise profile only."""
    if rates.hard is None:
        return None
    return household_dobs(pop.surname_id, pop.dob)[p]


def _record_ids(prefix: str, n: int, offset: int = 0) -> pl.Series:
    return pl.select(
        pl.lit(prefix)
        + pl.Series(np.arange(offset + 1, offset + n + 1)).cast(pl.String).str.zfill(9)
    ).to_series()


def crossing_records(rng: np.random.Generator, c: Crossings, pop: Population,
                     ev: LifeEvents, docs: Documents, span: Span, codes: tuple[str, ...],
                     names: NameTable, rates: NoiseRates, home: int,
                     emit: Callable[[pl.DataFrame], None] | None = None
                     ) -> tuple[Delivered, pl.DataFrame]:
    """Recorded crossings in the span (the delivery) and all true crossings in the span
    with their record ids (truth). With `emit`, the delivery is handed over a chunk at a
    time and only its record ids are kept."""
    in_span = np.flatnonzero((c.day >= span.start) & (c.day <= span.end))
    person, days, arrival = c.person[in_span], c.day[in_span], c.arrival[in_span]
    place, mode = c.place[in_span], c.mode[in_span]
    n = len(in_span)
    # time of day: random, then sorted within each (person, day) so that the times follow
    # the history; the crossings are already in history order, the groups line up
    seconds = rng.integers(5 * 3600, 23 * 3600, size=n)
    seconds = seconds[np.lexsort((seconds, days, person))]
    same_day = np.r_[False, (person[1:] == person[:-1]) & (days[1:] == days[:-1])]
    for _ in range(3):  # strictly increasing within a day, so the order is never a tie
        clash = same_day & (seconds <= np.r_[-1, seconds[:-1]])
        seconds[clash] = np.r_[-1, seconds[:-1]][clash] + 1
    crossed_at = days * 86400 + seconds

    land_card = np.array([code in ROAD_POINTS for code in codes])
    doc = document_of_crossings(rng, Crossings(person, days, arrival, c.trip[in_span], place,
                                               mode), docs, pop, land_card)
    recorded = rng.random(n) >= rates.crossing_not_recorded

    # delivery order: by time (as the border agency's extract), ties by person
    order = np.lexsort((person, crossed_at))
    rec = order[recorded[order]]
    del order
    span_rows = _SpanCrossings(person, days, arrival, place, mode, crossed_at, doc)
    # records are written a chunk at a time so memory stays bounded at any size
    parts = []
    for lo in range(0, max(len(rec), 1), RECORD_CHUNK):
        chunk, chunk_flags, chunk_ident = _crossing_chunk(
            rng, span_rows, rec[lo:lo + RECORD_CHUNK], lo, pop, ev, docs, codes, names,
            rates, home)
        if emit is not None:
            emit(chunk)
            chunk, chunk_flags = chunk.select("record_id"), {}
        parts.append((chunk, chunk_flags, chunk_ident))
        del chunk
    frame = pl.concat([part[0] for part in parts], rechunk=False)
    flags = {k: np.concatenate([part[1][k] for part in parts]) for k in parts[0][1]}
    ident = Identity(*(np.concatenate([getattr(part[2], f) for part in parts]) for f in (
        "given_id", "surname_id", "male", "dob", "citizenship", "document")))
    del parts
    record_id = frame["record_id"]
    p = person[rec]

    ids_by_crossing = pl.Series(np.zeros(0, dtype=np.int64)).cast(pl.String).extend_constant(
        None, n).scatter(rec, record_id)
    truth = pl.DataFrame({
        "person_index": person,
        "crossing_date": dates(days),
        "crossed_at": crossed_at,
        "direction": flag_labels(arrival, "arrival", "departure"),
        "recorded": recorded,
        "record_id": ids_by_crossing,
        "origin_destination": labels(codes, place.astype(np.int64)),
        "document_country": labels(codes, docs.country[doc].astype(np.int64)),
    })
    return Delivered(frame, p, flags, ident), truth


@dataclass
class _SpanCrossings:
    person: np.ndarray
    days: np.ndarray
    arrival: np.ndarray
    place: np.ndarray
    mode: np.ndarray
    crossed_at: np.ndarray
    doc: np.ndarray


def _crossing_chunk(rng: np.random.Generator, sc: _SpanCrossings, rec: np.ndarray,
                    offset: int, pop: Population, ev: LifeEvents, docs: Documents,
                    codes: tuple[str, ...], names: NameTable, rates: NoiseRates, home: int
                    ) -> tuple[pl.DataFrame, dict[str, np.ndarray], Identity]:
    p, doc, place = sc.person[rec], sc.doc[rec], sc.place[rec]
    ident = Identity(pop.given_id[p], pop.surname_id[p], pop.male[p], pop.dob[p],
                     docs.country[doc], doc, _household_dob(pop, rates, p))
    id_frame, flags = write_identity(rng, ident, rates, names, codes, docs.number,
                                     document_noise=False)
    point = _border_points(rng, sc.mode[rec], place, codes)
    lives_here = _lives_here(pop, ev, p, sc.days[rec])
    foreign_doc = docs.country[doc] != home
    declared = np.where(lives_here, home, np.where(foreign_doc, docs.country[doc], place))
    purpose = _purposes(rng, pop, p, sc.arrival[rec] & foreign_doc)
    frame = pl.DataFrame({
        "record_id": _record_ids("BC", len(rec), offset),
        "crossed_at": pl.Series(sc.crossed_at[rec] * 1_000_000).cast(pl.Datetime("us"))
        .dt.strftime("%Y-%m-%dT%H:%M:%S"),
        "direction": flag_labels(sc.arrival[rec], "arrival", "departure"),
        "border_point": point,
        "transport_mode": labels(MODES, sc.mode[rec].astype(np.int64)),
        "document_type": labels(DOCUMENT_TYPES, docs.kind[doc].astype(np.int64)),
        "document_number": id_frame["document_number"],
        "document_country": labels(codes, docs.country[doc].astype(np.int64)),
        "citizenship": id_frame["citizenship"],
        "sex": id_frame["sex"],
        "date_of_birth": id_frame["date_of_birth"],
        "given_name": id_frame["given_name"],
        "surname": id_frame["surname"],
        "country_of_birth": labels(codes, pop.country_of_birth[p].astype(np.int64)),
        "country_of_residence": labels(codes, declared.astype(np.int64)),
        "origin_destination": labels(codes, place.astype(np.int64)),
        "travel_purpose": purpose,
    }).select(CROSSING_COLUMNS)
    return frame, flags, ident


def _lives_here(pop: Population, ev: LifeEvents, p: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Where the person would say they live: here, for residents not (yet) gone and
    newcomers who have arrived to settle."""
    gone = (ev.departure[p] != NO_DAY) & (days >= ev.departure[p])
    came = (ev.arrival[p] != NO_DAY) & (days >= ev.arrival[p])
    settles = np.isin(pop.persona[p], [PERSONA_CODE[x] for x in (
        "returning_citizen", "immigrant_work", "immigrant_study", "immigrant_family",
        "asylum_seeker")])
    back = (ev.returned[p] != NO_DAY) & (days >= ev.returned[p])
    return (pop.resident_at_start[p] & (~gone | back)) | (settles & came & ~gone)


def _purposes(rng: np.random.Generator, pop: Population, p: np.ndarray,
              declared: np.ndarray) -> pl.Series:
    persona_purpose = np.full(len(PERSONA_CODE), -1, dtype=np.int64)
    for persona, purpose in PURPOSE_OF_PERSONA.items():
        persona_purpose[PERSONA_CODE[persona]] = PURPOSES.index(purpose)
    visitor_purpose = rng.choice(3, size=len(p), p=VISITOR_PURPOSE_WEIGHTS)
    by_persona = persona_purpose[pop.persona[p]]
    idx = np.where(by_persona >= 0, by_persona, visitor_purpose)
    return labels(PURPOSES, np.where(declared, idx, -1))


def _border_points(rng: np.random.Generator, mode: np.ndarray, place: np.ndarray,
                   codes: tuple[str, ...]) -> pl.Series:
    n = len(mode)
    points = list(AIRPORTS) + [RAIL_POINT, DEFAULT_ROAD_POINT]
    idx = rng.choice(len(AIRPORTS), size=n, p=AIRPORT_WEIGHTS)
    idx = np.where(mode == MODE_RAIL, len(AIRPORTS), idx)
    road = np.full(n, len(AIRPORTS) + 1)
    u = rng.random(n)
    for country, road_points in sorted(ROAD_POINTS.items()):
        if country not in codes:
            continue
        first = len(points)
        points.extend(road_points)
        at = place == codes.index(country)
        road = np.where(at, first + (u * len(road_points)).astype(np.int64), road)
    idx = np.where(mode == MODE_LAND, road, idx)
    return labels(points, idx)


def person_pins(persons: int) -> pl.Series:
    k = (np.arange(persons, dtype=np.int64) * _PIN_STRIDE + 1_000_000_007) % _PIN_SPACE
    return pl.Series(k).cast(pl.String).str.zfill(10)


def register_records(rng: np.random.Generator, spells: Spells, pop: Population,
                     docs: Documents, span: Span, codes: tuple[str, ...], names: NameTable,
                     rates: NoiseRates, country: str) -> Delivered:
    p = spells.person
    m = len(p)
    # details as known at extraction: the citizenship of the data end, the passport then
    as_of = np.where(spells.deregistered_on == NO_DAY, span.end, spells.deregistered_on)
    naturalised = (pop.naturalised_on[p] != NO_DAY) & (pop.naturalised_on[p] <= as_of)
    citizenship = np.where(naturalised, codes.index(country), pop.citizenship[p])
    second = np.where(naturalised, pop.citizenship[p], pop.second_citizenship[p])
    has_passport = docs.passport[p] >= 0
    doc = np.where(has_passport, docs.valid_on(p, as_of, pop.naturalised_on), -1)
    ident = Identity(pop.given_id[p], pop.surname_id[p], pop.male[p], pop.dob[p],
                     citizenship.astype(np.int16), doc, _household_dob(pop, rates, p))
    id_frame, flags = write_identity(rng, ident, rates, names, codes, docs.number,
                                     document_noise=True)
    regions = REGIONS.get(country, tuple(f"Region {i}" for i in range(1, 11)))
    weights = np.array(REGION_WEIGHTS.get(country, (1.0,) * len(regions)), dtype=float)
    region_of_person = rng.choice(len(regions), size=len(pop), p=weights / weights.sum())
    doc_country = np.where(doc >= 0, docs.country[np.maximum(doc, 0)], -1)
    frame = pl.DataFrame({
        "record_id": _record_ids("PR", m),
        "person_pin": person_pins(len(pop)).gather(p),
        "given_name": id_frame["given_name"],
        "surname": id_frame["surname"],
        "sex": id_frame["sex"],
        "date_of_birth": id_frame["date_of_birth"],
        "country_of_birth": labels(codes, pop.country_of_birth[p].astype(np.int64)),
        "citizenship": id_frame["citizenship"],
        "second_citizenship": labels(codes, second.astype(np.int64)),
        "registered_from": dates(spells.registered_from),
        "deregistered_on": dates(spells.deregistered_on),
        "deregistration_reason": labels(REASONS, spells.reason.astype(np.int64)),
        "document_number": id_frame["document_number"],
        "document_country": labels(codes, doc_country.astype(np.int64)),
        "region": labels(regions, region_of_person[p].astype(np.int64)),
    }).select(REGISTER_COLUMNS)
    return Delivered(frame, p, flags, ident)


def permit_records(rng: np.random.Generator, apps: Applications, pop: Population,
                   docs: Documents, codes: tuple[str, ...], names: NameTable,
                   rates: NoiseRates) -> Delivered:
    p = apps.person
    m = len(p)
    doc = docs.valid_on(p, apps.applied, pop.naturalised_on)
    ident = Identity(pop.given_id[p], pop.surname_id[p], pop.male[p], pop.dob[p],
                     pop.citizenship[p], doc, _household_dob(pop, rates, p))
    id_frame, flags = write_identity(rng, ident, rates, names, codes, docs.number,
                                     document_noise=True)
    permit_ids = pl.select(pl.lit("PM") + pl.Series(
        (apps.permit * 7_777_777 + 1_234_567) % 10**9).cast(pl.String).str.zfill(9)
    ).to_series()
    frame = pl.DataFrame({
        "record_id": _record_ids("PA", m),
        "permit_id": permit_ids,
        "permit_type": labels(PERMIT_TYPES, apps.permit_type.astype(np.int64)),
        "application_kind": labels(KINDS, apps.kind.astype(np.int64)),
        "application_date": dates(apps.applied),
        "decision": labels(DECISIONS, apps.decision.astype(np.int64)),
        "decision_date": dates(apps.decided),
        "valid_from": dates(apps.valid_from),
        "valid_to": dates(apps.valid_to),
        "document_number": id_frame["document_number"],
        "document_country": labels(codes, docs.country[doc].astype(np.int64)),
        "given_name": id_frame["given_name"],
        "surname": id_frame["surname"],
        "sex": id_frame["sex"],
        "date_of_birth": id_frame["date_of_birth"],
        "citizenship": id_frame["citizenship"],
        "country_of_birth": labels(codes, pop.country_of_birth[p].astype(np.int64)),
    }).select(PERMIT_COLUMNS)
    return Delivered(frame, p, flags, ident)
