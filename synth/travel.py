"""True crossing histories: each persona's stays at home and abroad, as border crossings.

Histories are built from *intervals*: a stretch on the other side of the border from
where the person lives (a resident's trip abroad, a non-resident's stay in the country).
An interval opens with one crossing and closes with another; a closing crossing past the
horizon is not simulated (the person stays). Intervals of one person never overlap and
are separated by at least one day, except that an interval may nest strictly inside
another (a home visit during years abroad), so ordering crossings by (person, day,
opening-before-closing) gives each person alternating arrivals and departures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from regmig.synth.countries import DESTINATION_MIX, LAND_NEIGHBOURS, CountryIndex
from regmig.synth.population import Population
from regmig.synth.timeline import NO_DAY, Span, day, to_date

MODE_AIR, MODE_LAND, MODE_RAIL = 0, 1, 2
MODES = ("air", "land", "rail")
#: Share of crossings to/from a land neighbour that go by land (the rest fly).
LAND_SHARE_TO_NEIGHBOURS = 0.8
RAIL_SHARE_OF_LAND = 0.05

#: Short trips of residents: mean days between trips, trip length range (days).
SHORT_TRIPS = (200.0, 2, 20)
FREQUENT_TRIPS = (35.0, 1, 10)
#: Commuters cross to a land neighbour two or three times a month, often for the day.
COMMUTER_TRIPS = (10.0, 0, 2)
#: Countries commuters cross to, by reporting country (others: two land neighbours).
COMMUTER_NEIGHBOURS = {"ARM": ("GEO", "GEO", "IRN")}
#: Home visits of people living abroad, and of immigrants to their own country.
HOME_VISITS = (250.0, 5, 30)
#: Visits of tourists and other short-term visitors.
VISITS = (500.0, 2, 21)
#: Emigrants: days abroad, share who come back within the horizon, share visiting home.
EMIGRANT_DAYS_ABROAD = (400, 1500)
EMIGRANT_RETURN_SHARE = 0.35
EMIGRANT_VISIT_SHARE = 0.4
#: Foreign residents leaving the country for good during the span.
FOREIGN_RESIDENT_LEAVE_SHARE = 0.15
#: Immigrants: length of stay by permit type, share staying beyond the horizon.
IMMIGRANT_STAY = {"work": (200, 1400, 0.15), "study": (300, 1500, 0.0),
                  "family": (700, 2000, 0.4)}
#: Share of immigrants whose stay ends because an extension is refused.
EXTENSION_REFUSED_SHARE = 0.12
#: Seasonal workers: arrival window from 1 March (days), stay length, yearly return share.
SEASON_ARRIVAL_DAYS = 75
SEASON_STAY = (180, 270)
SEASON_RETURN_SHARE = 0.8
#: Asylum: days to apply, to decide, share granted; appeals and their outcome; leaving.
ASYLUM_APPLY_DAYS = (0, 20)
ASYLUM_DECISION_DAYS = (90, 450)
ASYLUM_GRANTED_SHARE = 0.4
ASYLUM_APPEAL_SHARE = 0.5
ASYLUM_APPEAL_DAYS = (60, 300)
ASYLUM_APPEAL_GRANTED_SHARE = 0.3
ASYLUM_REFUSED_LEAVE_SHARE = 0.7
ASYLUM_LEAVE_DAYS = (20, 150)


#: Adds residents' trips: (persons, first start, last start, trip kind, must end before).
TripMaker = Callable[..., None]


#: SynthConfig's settings of when migrants move (Trends).
TREND_SETTINGS = ("immigration_trend", "emigration_trend", "shock_year", "shock_factor")


@dataclass(frozen=True)
class Trends:
    """When migrants move over the span (SynthConfig's trend settings): yearly growth of
    immigrants' arrivals and of emigrants' departures, and a shock year."""

    immigration: float = 0.0
    emigration: float = 0.0
    shock_year: int = 0
    shock_factor: float = 1.0

    @classmethod
    def from_config(cls, config) -> Trends:  # config: SynthConfig
        return cls(config.immigration_trend, config.emigration_trend, config.shock_year,
                   config.shock_factor)

    def timed(self, days: np.ndarray, lo: int, hi: int, growth: float) -> np.ndarray:
        """Days drawn uniformly from [lo, hi] moved to the same quantiles of a density
        growing by `growth` a year (times the shock factor in the shock year): the draws
        themselves are untouched, so without a trend nothing changes."""
        if growth == 0 and (self.shock_year == 0 or self.shock_factor == 1) or hi <= lo:
            return days
        grid = np.arange(lo, hi + 1)
        weight = (1 + growth) ** ((grid - lo) / 365.25)
        if self.shock_year:
            in_shock = (grid >= day(self.shock_year)) & (grid < day(self.shock_year + 1))
            weight = np.where(in_shock, weight * self.shock_factor, weight)
        cumulative = np.cumsum(weight) / weight.sum()
        quantile = (days - lo + 0.5) / (hi - lo + 1)
        return grid[np.minimum(np.searchsorted(cumulative, quantile), len(grid) - 1)]


@dataclass
class LifeEvents:
    """Person-level dates the registers and permits are built from (NO_DAY if none)."""

    persons: int
    arrival: np.ndarray = field(init=False)  # immigrants, asylum seekers, returning citizens
    departure: np.ndarray = field(init=False)  # emigrants, leaving foreigners and immigrants
    returned: np.ndarray = field(init=False)  # emigrants back home
    #: permit type of immigrants: 0 work, 1 study, 2 family, -1 none
    permit_type: np.ndarray = field(init=False)
    extension_refused: np.ndarray = field(init=False)
    asylum_applied: np.ndarray = field(init=False)
    asylum_decided: np.ndarray = field(init=False)
    asylum_granted: np.ndarray = field(init=False)
    asylum_appealed: np.ndarray = field(init=False)
    asylum_appeal_decided: np.ndarray = field(init=False)
    asylum_appeal_granted: np.ndarray = field(init=False)
    #: seasonal work: one row per season (person index, arrival day, departure day)
    seasons: tuple[np.ndarray, np.ndarray, np.ndarray] = field(init=False)

    def __post_init__(self) -> None:
        for name in ("arrival", "departure", "returned", "asylum_applied", "asylum_decided",
                     "asylum_appealed", "asylum_appeal_decided"):
            setattr(self, name, np.full(self.persons, NO_DAY, dtype=np.int64))
        self.permit_type = np.full(self.persons, -1, dtype=np.int8)
        for name in ("extension_refused", "asylum_granted", "asylum_appeal_granted"):
            setattr(self, name, np.zeros(self.persons, dtype=bool))
        empty = np.zeros(0, dtype=np.int64)
        self.seasons = (empty, empty, empty)


@dataclass
class Crossings:
    """True crossings, sorted by person, day and order within the day."""

    person: np.ndarray  # int64 person index
    day: np.ndarray  # int64
    arrival: np.ndarray  # bool (False = departure)
    trip: np.ndarray  # int64 interval the crossing belongs to
    place: np.ndarray  # int16 country travelled from (arrival) / to (departure)
    mode: np.ndarray  # int8 into MODES

    def __len__(self) -> int:
        return len(self.person)


class _Builder:
    def __init__(self, rng: np.random.Generator, span: Span, countries: CountryIndex) -> None:
        self.rng = rng
        self.span = span
        self.countries = countries
        self.parts: list[tuple[np.ndarray, ...]] = []
        self.n_trips = 0
        self._land = countries.is_land()

    def intervals(self, person: np.ndarray, t0: np.ndarray, t1: np.ndarray, abroad: bool,
                  place: np.ndarray, force_land: bool = False) -> None:
        """Add intervals [t0, t1): abroad (departure then arrival) or in the country
        (arrival then departure). A closing day past the horizon is not simulated."""
        keep = t0 <= self.span.horizon
        person, t0, t1, place = person[keep], t0[keep], t1[keep], place[keep]
        n = len(person)
        trip = self.n_trips + np.arange(n, dtype=np.int64)
        self.n_trips += n
        if force_land:
            mode = np.full(n, MODE_LAND, dtype=np.int8)
        else:
            by_land = self._land[place] & (self.rng.random(n) < LAND_SHARE_TO_NEIGHBOURS)
            mode = np.where(by_land, MODE_LAND, MODE_AIR).astype(np.int8)
        mode[(mode == MODE_LAND) & (self.rng.random(n) < RAIL_SHARE_OF_LAND)] = MODE_RAIL
        closes = t1 <= self.span.horizon
        for opening, days, sel in ((True, t0, np.ones(n, dtype=bool)), (False, t1, closes)):
            arrival = np.full(int(sel.sum()), opening != abroad)
            sub = np.full(int(sel.sum()), 0 if opening else 1, dtype=np.int8)
            self.parts.append((person[sel], days[sel], arrival, sub, trip[sel], place[sel],
                               mode[sel]))

    def renewal(self, person: np.ndarray, t_from: np.ndarray, t_to: np.ndarray,
                trips: tuple[float, int, int], first_on_from: bool = False
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Trips as a renewal process: gaps (>= 1 day, exponential) alternate with trip
        lengths (uniform); trips start within [t_from, t_to] of each person (the first one
        on t_from itself if `first_on_from`)."""
        mean_gap, lo, hi = trips
        if len(person) == 0:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty
        longest = int(np.max(t_to - t_from)) + 1
        n = int(np.ceil(max(longest, 1) / (mean_gap + (lo + hi) / 2) * 1.5)) + 4
        gaps = 1 + np.floor(self.rng.exponential(mean_gap, size=(len(person), n))).astype(
            np.int64)
        gaps[:, 0] = 0 if first_on_from else gaps[:, 0] - 1
        lengths = self.rng.integers(lo, hi + 1, size=(len(person), n))
        starts = t_from[:, None] + np.cumsum(gaps, axis=1) + np.cumsum(lengths, axis=1) - lengths
        rows, cols = np.nonzero(starts <= t_to[:, None])
        t0 = starts[rows, cols]
        return person[rows], t0, t0 + lengths[rows, cols]

    def destinations(self, n: int) -> np.ndarray:
        return self.countries.draw(self.rng, DESTINATION_MIX, n,
                                   exclude=self.countries.codes[self.countries.home])

    def build(self) -> Crossings:
        cols = [np.concatenate([p[i] for p in self.parts]) for i in range(7)]
        person, days, arrival, sub, trip, place, mode = cols
        order = np.lexsort((sub, days, person))
        return Crossings(person[order], days[order], arrival[order], trip[order],
                         place[order].astype(np.int16), mode[order].astype(np.int8))


def simulate_travel(rng: np.random.Generator, pop: Population, span: Span,
                    countries: CountryIndex, rule_threshold: int,
                    rule_window: int, trends: Trends | None = None
                    ) -> tuple[Crossings, LifeEvents]:
    trends = trends or Trends()
    b = _Builder(rng, span, countries)
    ev = LifeEvents(len(pop))
    everyone_from = np.full(len(pop), span.start, dtype=np.int64)
    horizon = np.full(len(pop), span.horizon, dtype=np.int64)

    def resident_trips(people: np.ndarray, t_from: np.ndarray, t_to: np.ndarray,
                       trips: tuple[float, int, int], before: np.ndarray | None = None) -> None:
        p, t0, t1 = b.renewal(people, t_from, t_to, trips)
        if before is not None:  # the trip must be over before a later event of the person
            ok = t1 < before[p]
            p, t0, t1 = p[ok], t0[ok], t1[ok]
        b.intervals(p, t0, t1, abroad=True, place=b.destinations(len(p)))

    # Citizens and foreign residents who live here and travel now and then.
    for persona, trips in (("short_trips", SHORT_TRIPS), ("frequent_traveller", FREQUENT_TRIPS),
                           ("naturalised", SHORT_TRIPS)):
        people = pop.of(persona)
        resident_trips(people, everyone_from[people], horizon[people], trips)

    commuters = pop.of("commuter")
    p, t0, t1 = b.renewal(commuters, everyone_from[commuters], horizon[commuters],
                          COMMUTER_TRIPS)
    country = countries.codes[countries.home]
    across = COMMUTER_NEIGHBOURS.get(country,
                                     tuple(sorted(LAND_NEIGHBOURS - {country}))[:2])
    neighbour = np.array([countries.index(c) for c in across], dtype=np.int16)
    home_of_commuter = neighbour[rng.integers(0, len(neighbour), size=len(pop))]
    b.intervals(p, t0, t1, abroad=True, place=home_of_commuter[p], force_land=True)

    dying = pop.of("dies")
    resident_trips(dying, everyone_from[dying], pop.died_on[dying] - 30, VISITS,
                   before=pop.died_on - 5)

    _emigrants(b, pop, ev, span, resident_trips, trends)
    _foreign_residents(b, pop, ev, span, resident_trips, trends)
    _returning_citizens(b, pop, ev, span, resident_trips, trends)
    _immigrants(b, pop, ev, span, trends)
    _seasonal_workers(b, pop, ev, span)
    visitors = pop.of("visitor")
    first = rng.integers(span.start, span.end + 1, size=len(visitors))
    p, t0, t1 = b.renewal(visitors, first, np.full(len(visitors), span.horizon), VISITS,
                          first_on_from=True)
    b.intervals(p, t0, t1, abroad=False, place=pop.citizenship[p])
    _asylum_seekers(b, pop, ev, span, trends)
    _edge_cases(b, pop, span, rule_threshold, rule_window)
    crossings = b.build()
    check_alternation(crossings, pop)
    return crossings, ev


def _emigrants(b: _Builder, pop: Population, ev: LifeEvents, span: Span,
               resident_trips: TripMaker, trends: Trends) -> None:
    rng = b.rng
    people = pop.of("emigrant")
    n = len(people)
    leave = trends.timed(rng.integers(span.start + 20, span.end + 181, size=n),
                         span.start + 20, span.end + 180, trends.emigration)
    abroad = rng.integers(*EMIGRANT_DAYS_ABROAD, size=n)
    comes_back = rng.random(n) < EMIGRANT_RETURN_SHARE
    back = np.where(comes_back, leave + abroad, span.horizon + 1)
    ev.departure[people] = leave
    ev.returned[people[comes_back]] = back[comes_back]
    before = np.full(len(pop), NO_DAY, dtype=np.int64)
    before[people] = leave - 10
    resident_trips(people, np.full(n, span.start), leave - 30, SHORT_TRIPS, before=before)
    dest = b.destinations(n)
    b.intervals(people, leave, back, abroad=True, place=dest)
    # a visit home while living abroad: strictly inside the time abroad
    stay_abroad = np.minimum(back, span.horizon) - leave
    visits = (rng.random(n) < EMIGRANT_VISIT_SHARE) & (stay_abroad > 150)
    v_person = people[visits]
    v0 = leave[visits] + 60 + (rng.random(int(visits.sum())) * (stay_abroad[visits] - 120)
                               ).astype(np.int64)
    v1 = v0 + rng.integers(HOME_VISITS[1], HOME_VISITS[2] + 1, size=len(v0))
    b.intervals(v_person, v0, v1, abroad=False, place=dest[visits])
    returned = people[comes_back]
    resident_trips(returned, back[comes_back] + 30, np.full(len(returned), span.horizon),
                   SHORT_TRIPS)


def _foreign_residents(b: _Builder, pop: Population, ev: LifeEvents, span: Span,
                       resident_trips: TripMaker, trends: Trends) -> None:
    rng = b.rng
    people = pop.of("foreign_resident")
    n = len(people)
    leaves = rng.random(n) < FOREIGN_RESIDENT_LEAVE_SHARE
    leave = np.where(leaves, trends.timed(rng.integers(span.start + 60, span.end + 201,
                                                       size=n),
                                          span.start + 60, span.end + 200, trends.emigration),
                     span.horizon + 1)
    ev.departure[people[leaves]] = leave[leaves]
    before = np.full(len(pop), span.horizon + 10**6, dtype=np.int64)
    before[people] = leave - 10
    resident_trips(people, np.full(n, span.start), leave - 30, SHORT_TRIPS, before=before)
    b.intervals(people[leaves], leave[leaves], np.full(int(leaves.sum()), span.horizon + 1),
                abroad=True, place=pop.citizenship[people[leaves]])


def _returning_citizens(b: _Builder, pop: Population, ev: LifeEvents, span: Span,
                        resident_trips: TripMaker, trends: Trends) -> None:
    rng = b.rng
    people = pop.of("returning_citizen")
    n = len(people)
    back = trends.timed(rng.integers(span.start + 60, span.end + 101, size=n),
                        span.start + 60, span.end + 100, trends.immigration)
    ev.arrival[people] = back
    place = b.destinations(n)
    # maybe one short visit before coming back for good
    visited = (rng.random(n) < 0.3) & (back - span.start > 80)
    v0 = span.start + (rng.random(n) * (back - span.start - 60)).astype(np.int64)
    v1 = v0 + rng.integers(5, 21, size=n)
    b.intervals(people[visited], v0[visited], v1[visited], abroad=False, place=place[visited])
    b.intervals(people, back, np.full(n, span.horizon + 1), abroad=False, place=place)
    resident_trips(people, back + 60, np.full(n, span.horizon), SHORT_TRIPS)


def _immigrants(b: _Builder, pop: Population, ev: LifeEvents, span: Span,
                trends: Trends) -> None:
    rng = b.rng
    for type_code, kind in enumerate(("work", "study", "family")):
        people = pop.of(f"immigrant_{kind}")
        n = len(people)
        lo, hi, stays_share = IMMIGRANT_STAY[kind]
        arrive = trends.timed(rng.integers(span.start, span.end + 1, size=n), span.start,
                              span.end, trends.immigration)
        length = rng.integers(lo, hi + 1, size=n)
        refused = (rng.random(n) < EXTENSION_REFUSED_SHARE) & (kind != "family")
        # a refused extension ends the stay a few weeks after the permit's anniversary
        length[refused] = 365 * rng.integers(1, 3, size=int(refused.sum())) + rng.integers(
            10, 41, size=int(refused.sum()))
        stays = (rng.random(n) < stays_share) & ~refused
        leave = np.where(stays, span.horizon + 1, arrive + length)
        ev.arrival[people] = arrive
        ev.departure[people[~stays]] = leave[~stays]
        ev.permit_type[people] = type_code
        ev.extension_refused[people] = refused
        b.intervals(people, arrive, leave, abroad=False, place=pop.citizenship[people])
        # trips back to their own country while living here
        before = np.full(len(pop), NO_DAY, dtype=np.int64)
        before[people] = np.minimum(leave, span.horizon) - 20
        p, t0, t1 = b.renewal(people, arrive + 45, np.minimum(leave, span.horizon) - 60,
                              HOME_VISITS)
        ok = t1 < before[p]
        b.intervals(p[ok], t0[ok], t1[ok], abroad=True, place=pop.citizenship[p[ok]])


def _seasonal_workers(b: _Builder, pop: Population, ev: LifeEvents, span: Span) -> None:
    rng = b.rng
    people = pop.of("seasonal_worker")
    years = np.arange(span.start_year, to_date(span.horizon).year + 1)
    first_year = rng.integers(span.start_year, span.end_year + 1, size=len(people))
    works = (years[None, :] >= first_year[:, None]) & (
        (years[None, :] == first_year[:, None])
        | (rng.random((len(people), len(years))) < SEASON_RETURN_SHARE))
    rows, cols = np.nonzero(works)
    march = np.array([day(int(y), 3, 1) for y in years])
    arrive = march[cols] + rng.integers(0, SEASON_ARRIVAL_DAYS + 1, size=len(rows))
    leave = arrive + rng.integers(SEASON_STAY[0], SEASON_STAY[1] + 1, size=len(rows))
    person = people[rows]
    ev.seasons = (person, arrive, leave)
    b.intervals(person, arrive, leave, abroad=False, place=pop.citizenship[person])


def _asylum_seekers(b: _Builder, pop: Population, ev: LifeEvents, span: Span,
                    trends: Trends) -> None:
    rng = b.rng
    people = pop.of("asylum_seeker")
    n = len(people)

    def between(lo_hi: tuple[int, int]) -> np.ndarray:
        return rng.integers(lo_hi[0], lo_hi[1] + 1, size=n)

    arrive = trends.timed(rng.integers(span.start, span.end + 1, size=n), span.start,
                          span.end, trends.immigration)
    applied = arrive + between(ASYLUM_APPLY_DAYS)
    decided = applied + between(ASYLUM_DECISION_DAYS)
    granted = rng.random(n) < ASYLUM_GRANTED_SHARE
    appealed = ~granted & (rng.random(n) < ASYLUM_APPEAL_SHARE)
    appeal_decided = decided + 20 + between(ASYLUM_APPEAL_DAYS)
    appeal_granted = appealed & (rng.random(n) < ASYLUM_APPEAL_GRANTED_SHARE)
    final_refusal = np.where(appealed, appeal_decided, decided)
    leaves = ~granted & ~appeal_granted & (rng.random(n) < ASYLUM_REFUSED_LEAVE_SHARE)
    leave = np.where(leaves, final_refusal + between(ASYLUM_LEAVE_DAYS), span.horizon + 1)
    ev.arrival[people] = arrive
    ev.departure[people[leaves]] = leave[leaves]
    ev.asylum_applied[people] = applied
    ev.asylum_decided[people] = decided
    ev.asylum_granted[people] = granted
    ev.asylum_appealed[people[appealed]] = decided[appealed] + 20
    ev.asylum_appeal_decided[people[appealed]] = appeal_decided[appealed]
    ev.asylum_appeal_granted[people] = appeal_granted
    b.intervals(people, arrive, leave, abroad=False, place=pop.citizenship[people])


def edge_patterns(threshold: int, window: int) -> list[list[tuple[int, int]]]:
    """Stays at the rule's edges as (offset from the start, length) of each stay: one stay
    of 11, 12 or 13 months (one day either side of the threshold too); V days in W split
    by a break; repeated 8-month stays with 4-month breaks."""
    patterns: list[list[tuple[int, int]]] = [
        [(0, length)] for length in (threshold - 31, threshold - 30, threshold - 1, threshold,
                                     threshold + 1, threshold + 30, threshold + 31)
    ]
    for total in (threshold - 1, threshold, threshold + 1):
        for first_share, gap in ((0.4, 20), (0.6, 60), (0.5, window - total - 1)):
            first = int(total * first_share)
            patterns.append([(0, first), (first + gap, total - first)])
    patterns.append([(cycle * 365, 243) for cycle in range(3)])
    return patterns


def _edge_cases(b: _Builder, pop: Population, span: Span, threshold: int, window: int) -> None:
    patterns = edge_patterns(threshold, window)
    for persona, abroad in (("edge_resident", True), ("edge_visitor", False)):
        people = pop.of(persona)
        which = b.rng.integers(0, len(patterns), size=len(people))
        begin = b.rng.integers(span.start + 1, span.end - 60, size=len(people))
        place = (b.destinations(len(people)) if abroad else pop.citizenship[people])
        for k, pattern in enumerate(patterns):
            sel = which == k
            for offset, length in pattern:
                t0 = begin[sel] + offset
                b.intervals(people[sel], t0, t0 + length, abroad=abroad, place=place[sel])


def check_alternation(c: Crossings, pop: Population) -> None:
    """Guard the construction: each person's crossings alternate, starting from the side
    the person is on at the start (residents abroad first leave, others first arrive)."""
    if len(c) == 0:
        return
    first = np.r_[True, c.person[1:] != c.person[:-1]]
    same = ~first
    if np.any(c.arrival[1:][same[1:]] == c.arrival[:-1][same[1:]]):
        bad = np.flatnonzero(same[1:] & (c.arrival[1:] == c.arrival[:-1]))[0] + 1
        raise AssertionError(f"crossings do not alternate for person index {c.person[bad]}")
    expect_arrival = ~pop.resident_at_start[c.person[first]]
    if np.any(c.arrival[first] != expect_arrival):
        raise AssertionError("a history starts on the wrong side of the border")
