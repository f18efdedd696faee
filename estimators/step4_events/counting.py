"""Which provisional events the published integers count.

A provisional event counts in the totals with its probability, so a total is an expected
number (134.4 moves, say) while a published table needs whole persons in every cell, and
its cells must add up to its margins and to the headline figure. Rounding each cell on
its own breaks both. Instead, the provisional events themselves are integerised: within
each kind and calendar year they are put in a fixed order (month, then the release's
breakdowns: citizenship, sex, age, country of birth, previous or next country of
residence) and a systematic selection by cumulative probability marks some of them
`counted`: event i is counted when the running sum of probabilities passes a new whole
number (offset by one half) at it. Every published cell and margin is then a count of the
same final and counted events, so cells add up exactly, and:

- the year's count of provisional events is its expected value rounded (half up);
- a month's count, and a quarter's, differs from its expected value by less than one
  (they are runs in the order), as does any cell whose events are one run;
- any other cell's count is an unbiased integer version of its expected value.

Final events are always counted. The order ends with the person and the date, so the
selection is the same on every run of the same data.
"""

from __future__ import annotations

import polars as pl

#: The order of provisional events within a kind and year, after the month.
BREAKDOWN_ORDER = ("citizenship", "sex", "age", "country_of_birth", "previous_next_country")


def counted(events: pl.DataFrame) -> pl.Series:
    """For each row of `events` (event_date, kind, status, probability, person_id and the
    BREAKDOWN_ORDER columns), whether the published integers count it."""
    order = ["kind", "_year", "_month", *BREAKDOWN_ORDER, "person_id", "event_date"]
    ranked = events.select(
        "kind", "status", "event_date", "person_id", *BREAKDOWN_ORDER,
        p=pl.when(pl.col("status") == "provisional").then("probability").otherwise(0.0),
        _year=pl.col("event_date").dt.year(),
        _month=pl.col("event_date").dt.month(),
    ).with_row_index("_row").sort(order, nulls_last=True)
    ranked = ranked.with_columns(running=pl.col("p").cum_sum().over("kind", "_year"))
    # The previous row's running sum itself, not running - p: the same float on both
    # sides of a boundary, so no whole number is passed twice or skipped.
    before = pl.col("running").shift(1).over("kind", "_year").fill_null(0.0)
    selected = ranked.with_columns(
        counted=(pl.col("status") == "final")
        | ((pl.col("running") + 0.5).floor() > (before + 0.5).floor())
    )
    return selected.sort("_row")["counted"]
