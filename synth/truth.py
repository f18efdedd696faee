"""The ground truth: who is behind every record, the true crossing histories, the
residence rule applied to them, and the true resident stock.

Stocks follow the usual convention for "population on 1 January": the status at 00:00
on the reference date, i.e. after every crossing dated before it; people born before it
and not dead before it.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from regmig.synth.labels import dates, flag_labels, labels
from regmig.synth.population import PERSONA_NAMES, Population
from regmig.synth.timeline import NO_DAY, Span, age_on
from regmig.synth.travel import Crossings
from regmig.synth.truth_rule import RuleResult, apply_rule, status_on

STOCK_CONVENTION = ("status at 00:00 on the reference date: after every crossing dated "
                    "before it; born before it; not died before it")


def initial_status(pop: Population) -> np.ndarray:
    """1 for residents at the start and for the newborn (resident from birth), else 0."""
    return (pop.resident_at_start | (pop.born_on != NO_DAY)).astype(np.int8)


def classify(c: Crossings, pop: Population, span: Span, threshold: int,
             window: int) -> RuleResult:
    return apply_rule(c.person, c.day, c.arrival, initial_status(pop), threshold, window,
                      span.end)


def _citizenship_on(pop: Population, person: np.ndarray, days: np.ndarray, home: int,
                    strictly_before: bool = False) -> np.ndarray:
    nat = pop.naturalised_on[person]
    done = (nat != NO_DAY) & ((nat < days) if strictly_before else (nat <= days))
    return np.where(done, home, pop.citizenship[person])


def persons_table(pop: Population, span: Span, codes: tuple[str, ...], home: int,
                  in_register: np.ndarray) -> pl.DataFrame:
    n = len(pop)
    final = np.where((pop.naturalised_on != NO_DAY) & (pop.naturalised_on <= span.end), home,
                     pop.citizenship)
    return pl.DataFrame({
        "person_id": np.arange(1, n + 1, dtype=np.int64),
        "persona": labels(PERSONA_NAMES, pop.persona),
        "sex": flag_labels(pop.male, "M", "F"),
        "date_of_birth": dates(pop.dob),
        "citizenship": labels(codes, pop.citizenship),
        "citizenship_final": labels(codes, final),
        "naturalised_on": dates(pop.naturalised_on),
        "country_of_birth": labels(codes, pop.country_of_birth),
        "born_on": dates(pop.born_on),
        "died_on": dates(pop.died_on),
        "in_register": in_register,
    })


def crossing_tables(c: Crossings, rule: RuleResult, pop: Population, span: Span,
                    codes: tuple[str, ...], home: int
                    ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """crossing_status and migration_events for the crossings in the delivery span."""
    in_span = (c.day >= span.start) & (c.day <= span.end)
    idx = np.flatnonzero(in_span)
    person = c.person[idx]
    first = np.r_[True, person[1:] != person[:-1]] if len(idx) else np.zeros(0, bool)
    starts = np.flatnonzero(first)
    seq = np.arange(len(idx)) - starts[np.cumsum(first) - 1] + 1 if len(idx) else idx
    status = pl.DataFrame({
        "person_id": person + 1,
        "crossing_date": dates(c.day[idx]),
        "direction": flag_labels(c.arrival[idx], "arrival", "departure"),
        "seq": seq.astype(np.int64),
        "res_status_before": rule.status_before[idx],
        "res_status_after": rule.status_after[idx],
        "is_long_term_migration": rule.long_term[idx],
        "decided_by_data_end": rule.decided_by[idx],
    })
    ltm = idx[rule.long_term[idx]]
    p = c.person[ltm]
    events = pl.DataFrame({
        "person_id": p + 1,
        "event_date": dates(c.day[ltm]),
        "kind": flag_labels(c.arrival[ltm], "immigration", "emigration"),
        "citizenship": labels(codes, _citizenship_on(pop, p, c.day[ltm], home)),
        "sex": flag_labels(pop.male[p], "M", "F"),
        "age": age_on(pop.dob[p], c.day[ltm]),
        "country_of_birth": labels(codes, pop.country_of_birth[p]),
        "decided_by_data_end": rule.decided_by[ltm],
    })
    return status, events


def stock_table(c: Crossings, rule: RuleResult, pop: Population, span: Span,
                codes: tuple[str, ...], home: int) -> pl.DataFrame:
    frames = []
    init = initial_status(pop)
    for ref in span.year_starts():
        status = status_on(c.person, c.day, rule.status_after, init, ref - 1)
        alive = ((pop.died_on == NO_DAY) | (pop.died_on >= ref)) & (
            (pop.born_on == NO_DAY) | (pop.born_on < ref))
        p = np.flatnonzero((status == 1) & alive)
        refs = np.full(len(p), ref, dtype=np.int64)
        frames.append(pl.DataFrame({
            "ref_date": dates(refs),
            "person_id": p + 1,
            "citizenship": labels(codes, _citizenship_on(pop, p, refs, home,
                                                         strictly_before=True)),
            "country_of_birth": labels(codes, pop.country_of_birth[p]),
            "sex": flag_labels(pop.male[p], "M", "F"),
            "age": age_on(pop.dob[p], refs),
        }))
    return pl.concat(frames)


def initial_table(pop: Population, span: Span) -> pl.DataFrame:
    born = pop.born_on != NO_DAY
    return pl.DataFrame({
        "person_id": np.arange(1, len(pop) + 1, dtype=np.int64),
        "res_status_initial": initial_status(pop),
        "date_initial": dates(np.where(born, pop.born_on, span.start)),
    })
