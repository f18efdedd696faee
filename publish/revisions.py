"""stats.revisions: every published figure in every vintage, and how far figures move.

The Stats NZ and ABS practice: a provisional figure is published, then revised as the
crossings behind it mature, and the revisions are published too, so that users can judge
the first figure. Each vintage (publish/vintages.py) adds to stats.revisions one row per
figure it publishes: every period and kind of the canonical estimates table
(stats.migration_totals) whose period the vintage's data cover completely, with the
figure in the previous vintage and the revision between the two.

The lag of a figure in a vintage is the number of months from the period's last month to
the month of the vintage's data end: a month's immigration first published with that
month's own crossings has lag 0; its window (W = 16 months by default) closes at lag 16.
The quality indicator is the mean absolute revision by lag: over the figures of one
period type, the mean of |latest figure - figure at lag L|, in moves and relative to the
latest figures' sum (meta.quality, and the run report's chart of revisions against lag).
"""

from __future__ import annotations

from datetime import date, datetime

import duckdb
import polars as pl

from regmig.schemas.table_spec import create_tables
from regmig.schemas.tables.stats import MIGRATION_TOTALS, REVISIONS
from regmig.warehouse.connection import transaction
from regmig.warehouse.quality import record_quality

#: The canonical figures of a vintage: each period and kind of the estimates table whose
#: period ends by the data end (a year still running is not a figure yet).
FIGURES_SQL = f"""
SELECT 'year' AS period_type, CAST(year AS VARCHAR) AS period,
       make_date(year, 12, 31) AS period_end, kind, estimate, final,
       provisional_expected, lower, upper, rule
FROM {MIGRATION_TOTALS.qualified}
WHERE make_date(year, 12, 31) <= $data_end
"""

_INSERT_SQL = f"""
INSERT INTO {REVISIONS.qualified} BY NAME
WITH figures AS ({FIGURES_SQL}),
previous AS (   -- each figure as the latest earlier vintage published it
    SELECT period_type, period, kind, rule,
           arg_max(estimate, published_at) AS previous_estimate
    FROM {REVISIONS.qualified} GROUP BY ALL
)
SELECT $vintage AS vintage, $data_end AS data_end, $published_at AS published_at,
       f.period_type, f.period, f.period_end, f.kind,
       (year($data_end) * 12 + month($data_end))
           - (year(f.period_end) * 12 + month(f.period_end)) AS lag_months,
       f.estimate, f.final, f.provisional_expected, f.lower, f.upper, f.rule,
       p.previous_estimate, f.estimate - p.previous_estimate AS revision, $run_id AS run_id
FROM figures AS f LEFT JOIN previous AS p USING (period_type, period, kind, rule)
"""

#: Mean absolute revision by lag: each figure at each lag (the last vintage at that lag)
#: against the same figure in the latest vintage.
MEAN_ABSOLUTE_REVISION_SQL = f"""
WITH at_lag AS (
    SELECT period_type, period, kind, rule, lag_months,
           arg_max(estimate, published_at) AS estimate, max(published_at) AS published_at
    FROM {REVISIONS.qualified} GROUP BY ALL
), latest AS (
    SELECT period_type, period, kind, rule, arg_max(estimate, published_at) AS latest,
           max(lag_months) AS latest_lag
    FROM at_lag GROUP BY ALL
)
SELECT a.period_type, a.lag_months, count(*) AS figures,
       avg(abs(l.latest - a.estimate)) AS mean_abs_revision,
       sum(abs(l.latest - a.estimate)) / nullif(sum(abs(l.latest)), 0)
           AS mean_abs_relative_revision
FROM at_lag AS a JOIN latest AS l USING (period_type, period, kind, rule)
WHERE a.lag_months < l.latest_lag
GROUP BY ALL ORDER BY ALL
"""


def record_vintage(con: duckdb.DuckDBPyConnection, vintage: str, data_end: date,
                   published_at: datetime, run_id: str, stage: str) -> int:
    """Add the vintage's figures to stats.revisions and refresh the indicators (one
    transaction); returns the figures added."""
    params = {"vintage": vintage, "data_end": data_end, "published_at": published_at,
              "run_id": run_id}
    with transaction(con):
        create_tables(con, [REVISIONS])
        added = con.execute(_INSERT_SQL, params).fetchall()[0][0]
        record_quality(con, run_id, stage, quality_rows(mean_absolute_revision(con)))
    return int(added)


def mean_absolute_revision(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """(period_type, lag_months, figures, mean_abs_revision, mean_abs_relative_revision):
    empty before the second vintage."""
    create_tables(con, [REVISIONS])
    return con.sql(MEAN_ABSOLUTE_REVISION_SQL).pl()


def quality_rows(by_lag: pl.DataFrame) -> list[tuple[str, float, str, str | None]]:
    rows = []
    for r in by_lag.iter_rows(named=True):
        detail = (f"{r['period_type']} figures at lag {r['lag_months']} months against the "
                  f"latest vintage ({r['figures']} figures)")
        rows.append(("mean_abs_revision", float(r["mean_abs_revision"]), "moves", detail))
        if r["mean_abs_relative_revision"] is not None:
            rows.append(("mean_abs_relative_revision", float(r["mean_abs_relative_revision"]),
                         "ratio", detail))
    return rows
