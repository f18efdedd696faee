"""One number for one figure: the run report, the demo's closing summary and the release
show the same value for the same cell, the one stats.migration_totals holds.

On the demo run (the pipeline on the sample): the reference year's immigration and
emigration (provisional: the sample's data end on its last day) and their cells by sex.
"""

from __future__ import annotations

import re

import polars as pl
from fixtures.publish import SAMPLE_LAST_COMPLETE_YEAR as YEAR

from regmig.warehouse.connection import open_warehouse

#: The release's table of each kind by age and sex.
BY_AGE_AND_SEX = {"immigration": "migr_imm8", "emigration": "migr_emi2"}


def _canonical(pipeline_run) -> pl.DataFrame:
    with open_warehouse(pipeline_run.paths, read_only=True) as con:
        return con.sql(
            "SELECT kind, breakdown, category, published, status FROM stats.migration_totals "
            "WHERE period = 'year' AND year = ? AND breakdown IN ('total', 'sex')",
            params=[YEAR]).pl()


def _report_rows(pipeline_run) -> list[list[str]]:
    """The text of each cell of every table row in report.html."""
    html = pipeline_run.paths.report.read_text(encoding="utf-8")
    return [[re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(
        r"<td[^>]*>(.*?)</td>", row, flags=re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", html, flags=re.S)]


def _number(text: str) -> int:
    return int(text.replace(",", ""))


def test_report_summary_and_release_show_the_same_figures(pipeline_run) -> None:
    canonical = _canonical(pipeline_run)
    totals = canonical.filter(pl.col("breakdown") == "total")
    assert totals.height == 2 and (totals["status"] == "provisional").all()
    report = _report_rows(pipeline_run)
    summary = [line.split() for line in pipeline_run.output.splitlines()]
    for kind, published in totals.select("kind", "published").iter_rows():
        # The report's yearly table: the row of the year and kind shows the figure.
        rows = [r for r in report if r[:2] == [str(YEAR), kind]]
        assert len(rows) == 1 and str(f"{published:,}") in rows[0], (kind, rows)
        assert _number(rows[0][2]) == published
        # The summary's line of the year and kind: published, flagged provisional.
        lines = [f for f in summary if f[:2] == [str(YEAR), kind]]
        assert len(lines) == 1 and _number(lines[0][5]) == published and lines[0][6] == "p"
        # The release's total cell, and its cells by sex.
        release = pl.read_csv(pipeline_run.paths.release / "csv"
                              / f"{BY_AGE_AND_SEX[kind]}.csv", infer_schema=False)
        by_sex = dict(release.filter(pl.col("age") == "TOTAL").select("sex", "value").rows())
        assert _number(by_sex["T"]) == published
        for sex, count in canonical.filter(
                (pl.col("kind") == kind) & (pl.col("breakdown") == "sex")).select(
                "category", "published").iter_rows():
            if by_sex.get(sex) not in (None, "", "c"):
                assert _number(by_sex[sex]) == count, (kind, sex)
