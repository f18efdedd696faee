"""stats.revisions: every published figure in every vintage, and how far figures move.

The Stats NZ and ABS practice: a provisional figure is published, then revised as the
crossings behind it mature, and the revisions are published too, so that users can judge
a first figure. Each vintage (publish/vintages.py) adds to stats.revisions every row of
the canonical estimates table (stats.migration_totals: a period, kind and breakdown
category) whose period the vintage's data cover completely, with the same figure in the
previous vintage and the revision between the two.

The lag of a figure in a vintage is the number of months from the period's last month to
the month of the vintage's data end: a month's immigration first published with that
month's own crossings has lag 0; its 12/16 windows have all closed at lag 16. The quality
indicator is the mean absolute revision by lag: over the total figures of one period
type, the mean of |latest published figure - published figure at lag L|, in moves and
relative to the latest figures' sum (meta.quality; the run report charts it).
"""

from __future__ import annotations

from datetime import date, datetime

import duckdb
import polars as pl

from regmig.schemas.table_spec import create_tables
from regmig.schemas.tables.stats import MIGRATION_TOTALS, REVISIONS
from regmig.warehouse.connection import transaction
from regmig.warehouse.quality import Indicator, record_quality

#: What identifies one figure across vintages.
FIGURE = ("period", "period_start", "kind", "breakdown", "category", "rule")

_INSERT_SQL = f"""
INSERT INTO {REVISIONS.qualified} BY NAME
WITH figures AS (   -- the canonical figures whose period the data cover completely
    SELECT period, period_start, period_end, year, kind, breakdown, category, published,
           estimate, final, provisional_expected, lower, upper, status, rule
    FROM {MIGRATION_TOTALS.qualified} WHERE period_end <= $data_end
), previous AS (    -- each figure as the latest earlier vintage published it
    SELECT {", ".join(FIGURE)},
           arg_max(published, published_at) AS previous_published,
           arg_max(estimate, published_at) AS previous_estimate
    FROM {REVISIONS.qualified} GROUP BY ALL
)
SELECT $vintage AS vintage, $data_end AS data_end, $published_at AS published_at, f.*,
       (year($data_end) * 12 + month($data_end))
           - (year(f.period_end) * 12 + month(f.period_end)) AS lag_months,
       p.previous_published, f.published - p.previous_published AS revision,
       p.previous_estimate, f.estimate - p.previous_estimate AS estimate_revision,
       $run_id AS run_id
FROM figures AS f LEFT JOIN previous AS p USING ({", ".join(FIGURE)})
"""

#: Mean absolute revision by lag: each total figure at each lag (the last vintage at that
#: lag) against the same figure in the latest vintage.
MEAN_ABSOLUTE_REVISION_SQL = f"""
WITH at_lag AS (
    SELECT {", ".join(FIGURE)}, lag_months,
           arg_max(published, published_at) AS published, max(published_at) AS published_at
    FROM {REVISIONS.qualified} WHERE breakdown = 'total' GROUP BY ALL
), latest AS (
    SELECT {", ".join(FIGURE)}, arg_max(published, published_at) AS latest,
           max(lag_months) AS latest_lag
    FROM at_lag GROUP BY ALL
)
SELECT a.period, a.lag_months, count(*) AS figures,
       avg(abs(l.latest - a.published)) AS mean_abs_revision,
       sum(abs(l.latest - a.published)) / nullif(sum(abs(l.latest)), 0)
           AS mean_abs_relative_revision
FROM at_lag AS a JOIN latest AS l USING ({", ".join(FIGURE)})
WHERE a.lag_months < l.latest_lag
GROUP BY ALL ORDER BY ALL
"""


def record_vintage(con: duckdb.DuckDBPyConnection, vintage: str, data_end: date,
                   published_at: datetime, run_id: str, stage: str) -> int:
    """Add the vintage's figures to stats.revisions (restricted), then its mean absolute
    revisions by lag to meta.quality: two databases, so two transactions, restricted
    first (see `regmig.warehouse.writes.by_database`); returns the figures added."""
    params = {"vintage": vintage, "data_end": data_end, "published_at": published_at,
              "run_id": run_id}
    with transaction(con):
        create_tables(con, [REVISIONS])
        added = con.execute(_INSERT_SQL, params).fetchall()[0][0]
    by_lag = mean_absolute_revision(con)
    with transaction(con):
        record_quality(con, run_id, stage, quality_rows(by_lag))
    return int(added)


def mean_absolute_revision(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """(period, lag_months, figures, mean_abs_revision, mean_abs_relative_revision) of
    the total figures; empty before a figure has been published twice."""
    create_tables(con, [REVISIONS])
    return con.sql(MEAN_ABSOLUTE_REVISION_SQL).pl()


def quality_rows(by_lag: pl.DataFrame) -> list[Indicator]:
    rows: list[Indicator] = []
    for r in by_lag.iter_rows(named=True):
        detail = (f"{r['period']} totals at lag {r['lag_months']} months against the "
                  f"latest vintage ({r['figures']} figures)")
        rows.append(("mean_abs_revision", float(r["mean_abs_revision"]), "moves", detail))
        if r["mean_abs_relative_revision"] is not None:
            rows.append(("mean_abs_relative_revision", float(r["mean_abs_relative_revision"]),
                         "ratio", detail))
    return rows
