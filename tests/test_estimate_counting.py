"""The published integers: provisional events counted by a systematic selection, so every
cell is a whole number, cells add up to their margins, and a year's total is its expected
value rounded."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl

from regmig.estimators.step4_events.counting import counted
from regmig.estimators.step4_events.totals import calendar_periods, tabulate


def _events(n: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    final = rng.random(n) < 0.3
    return pl.DataFrame({
        "person_id": np.arange(n),
        "event_date": [date(2023, 1, 1) + timedelta(days=int(d))
                       for d in rng.integers(0, 730, n)],
        "kind": rng.choice(["immigration", "emigration"], n),
        "status": np.where(final, "final", "provisional"),
        "probability": np.where(final, 1.0, rng.beta(0.6, 0.6, n)),
        "citizenship": pl.Series(rng.choice(["ARM", "RUS", "GEO", ""], n)).replace("", None),
        "sex": rng.choice(["M", "F"], n),
        "age": rng.integers(0, 80, n),
        "country_of_birth": rng.choice(["ARM", "RUS", "IRN"], n),
        "previous_next_country": pl.Series(rng.choice(["RUS", "USA", ""], n)).replace(
            "", None),
        "reason": rng.choice(["work", "citizen", "none"], n),
    })


def test_years_are_their_expected_value_rounded_and_months_within_one() -> None:
    events = _events(6000, seed=5)
    events = events.with_columns(counted=counted(events))
    assert events.filter(pl.col("status") == "final")["counted"].all()
    totals = tabulate(events, calendar_periods(date(2023, 1, 1), date(2024, 12, 31)),
                      {"immigration": 0.02, "emigration": 0.02}, 0.95)
    total = totals.filter(pl.col("breakdown") == "total")
    years = total.filter(pl.col("period") == "year")
    assert years.height == 4
    # Half up, as floor(x + 0.5): the year's count of provisional events.
    assert (years["counted"] == (years["provisional_expected"] + 0.5).floor()).all()
    assert (years["published"] == years["final"] + years["counted"]).all()
    for period in ("quarter", "month"):
        parts = total.filter(pl.col("period") == period)
        assert ((parts["published"] - parts["estimate"]).abs() < 1).all(), period
        added = parts.group_by("year", "kind").agg(pl.col("published").sum())
        assert added.join(years, on=["year", "kind"]).select(
            (pl.col("published") == pl.col("published_right")).all()).item(), period


def test_every_breakdown_adds_up_to_the_year() -> None:
    events = _events(3000, seed=8)
    events = events.with_columns(counted=counted(events))
    totals = tabulate(events, calendar_periods(date(2023, 1, 1), date(2024, 12, 31)),
                      {}, 0.95).filter(pl.col("period") == "year")
    margins = totals.filter(pl.col("breakdown") != "total").group_by(
        "year", "kind", "breakdown").agg(pl.col("published").sum(),
                                         pl.col("provisional_expected").sum())
    both = margins.join(totals.filter(pl.col("breakdown") == "total"),
                        on=["year", "kind"], suffix="_total")
    assert both.height == 4 * 6
    assert (both["published"] == both["published_total"]).all()
    assert ((both["provisional_expected"] - both["provisional_expected_total"]).abs()
            < 1e-6).all()
    # The first breakdown of the order is made of runs (one per month): each cell stays
    # close to its expected value.
    by_citizenship = totals.filter(pl.col("breakdown") == "citizenship")
    assert ((by_citizenship["published"] - by_citizenship["estimate"]).abs() < 6).all()


def test_selection_is_deterministic_and_ignores_row_order() -> None:
    events = _events(2000, seed=2)
    shuffled = events.sample(fraction=1.0, shuffle=True, seed=1)
    a = events.with_columns(counted=counted(events))
    b = shuffled.with_columns(counted=counted(shuffled))
    assert a.sort("person_id")["counted"].equals(b.sort("person_id")["counted"])
