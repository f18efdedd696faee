"""Age in completed years (docs/design.md §5) from the year and month of birth, the finest
the warehouse holds."""

from __future__ import annotations

import polars as pl


def age_in_years(on: pl.Expr, birth_year: pl.Expr, birth_month: pl.Expr) -> pl.Expr:
    """Completed years on a date, from year and month of birth (birthday taken as the 1st
    of the month, the finest the warehouse holds)."""
    before_birthday = (on.dt.month() < birth_month.fill_null(7)).cast(pl.Int32)
    return on.dt.year().cast(pl.Int32) - birth_year.cast(pl.Int32) - before_birthday
