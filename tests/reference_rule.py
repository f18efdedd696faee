"""The residence rule as a plain loop over one person's crossings: the reference.

Written the way the published method describes it (walk forward from each crossing,
adding up the days in and out until V days on one side or more than W - V on the other
settle it), so that the vectorised `residence_rule.classify` can be checked against it on
any history. It is used by the tests and the benchmark, never by the pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from regmig.config import ResidenceRule


@dataclass
class ReferenceResult:
    res_status_before: int | None
    res_status_after: int | None
    is_long_term_migration: bool
    qualifies: bool
    date_finalised_res_before: date
    date_finalised_res_after: date
    date_finalised_ltm: date


def classify_person(
    crossings: list[tuple[date, bool]],
    initial: int | None,
    rule: ResidenceRule,
) -> list[ReferenceResult]:
    """`crossings`: (date, is_arrival) in order, directions alternating.

    After the last crossing the person stays where they are, so every crossing is decided.
    """
    v, w = rule.threshold_days, rule.window_days
    slack = w - v
    n = len(crossings)
    gaps = [
        (crossings[k + 1][0] - crossings[k][0]).days if k + 1 < n else None
        for k in range(n)
    ]
    qualifies: list[bool] = []
    decision: list[date] = []
    for i, (day_i, _) in enumerate(crossings):
        own = other = 0  # days on the crossing's own side / on the other side
        result = None
        for k in range(i, n):
            gap = gaps[k]
            on_own_side = (k - i) % 2 == 0
            if on_own_side:
                if gap is None or own + gap >= v:
                    result = (True, day_i + timedelta(days=v + other))
                    break
                own += gap
            else:
                if gap is None or other + gap > slack:
                    result = (False, day_i + timedelta(days=slack + own))
                    break
                other += gap
        assert result is not None
        qualifies.append(result[0])
        decision.append(result[1])

    out: list[ReferenceResult] = []
    status = initial
    ra_prev: date | None = None
    ltm_dates: list[date | None] = [None] * n
    for i, (day_i, arrival) in enumerate(crossings):
        before = status
        rb = day_i if ra_prev is None else max(day_i, ra_prev)
        target = 1 if arrival else 0
        migrating = before is not None and before != target
        if qualifies[i]:
            status = target
        after = status
        ra = max(rb, decision[i]) if migrating else rb
        ltm = migrating and qualifies[i]
        if migrating:
            # Returns made while this crossing is undecided, within 2(W - V) days of its
            # status before being known, cannot be long-term migrations.
            for m in range(i + 1, n, 2):
                day_m = crossings[m][0]
                undecided = day_m < decision[i] or (not qualifies[i] and day_m == decision[i])
                if not undecided:
                    break
                if day_m < rb + timedelta(days=2 * slack) and ltm_dates[m] is None:
                    ltm_dates[m] = max(day_m, rb)
        own_ltm_date = ra if migrating else rb
        if ltm or ltm_dates[i] is None:
            ltm_dates[i] = own_ltm_date
        out.append(
            ReferenceResult(
                res_status_before=before,
                res_status_after=after,
                is_long_term_migration=ltm,
                qualifies=qualifies[i],
                date_finalised_res_before=rb,
                date_finalised_res_after=ra,
                date_finalised_ltm=ltm_dates[i],  # type: ignore[arg-type]
            )
        )
        ra_prev = ra
    return out
