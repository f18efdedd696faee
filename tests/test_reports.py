"""Both reports as a browser shows them: the run report's first page and the linkage
report, rendered by headless Chromium after their scripts ran. Every chart must have been
drawn (vega-embed's SVG or canvas in its place, with marks in it), the tables must be
there, and the figures must be the warehouse's own."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import pytest
from browser import WINDOW, Element, parse, rendered_dom, screenshot

from regmig.warehouse.connection import open_warehouse

#: The charts of the run report: element id -> what it must show.
RUN_REPORT_CHARTS = ("chart-annual-flows", "chart-monthly-flows", "chart-backtest",
                     "chart-weakest-links", "chart-cells-by-table")
#: The sections of the first page, in their order.
FIRST_PAGE = ("annual-flows", "monthly-flows", "backtest", "sensitivity", "linkage",
              "disclosure")
#: A drawn page is a few hundred kilobytes; a blank one a few kilobytes.
MIN_SCREENSHOT_BYTES = 40_000


@pytest.fixture(scope="module")
def warehouse(pipeline_run):
    con = open_warehouse(pipeline_run.paths, read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def run_report(pipeline_run) -> Element:
    return parse(rendered_dom(pipeline_run.paths.report))


@pytest.fixture(scope="module")
def linkage_report(pipeline_run) -> Element:
    return parse(rendered_dom(pipeline_run.paths.linkage_report))


def _drawn(container: Element) -> list[Element]:
    """The marks vega-embed drew in a chart's container (paths, texts of mark groups)."""
    svgs = container.find_all("svg")
    assert svgs, "no SVG in the chart"
    return [e for group in container.iter()
            if "role-mark" in group.attributes.get("class", "").split()
            for e in group.iter() if e.tag in ("path", "text", "line", "rect")]


def _texts(container: Element) -> set[str]:
    return {e.all_text() for e in container.find_all("text")}


def test_every_chart_of_the_run_report_is_drawn(run_report):
    for chart_id in RUN_REPORT_CHARTS:
        container = run_report.by_id(chart_id)
        assert container is not None, chart_id
        assert "data-error" not in container.attributes, container.attributes["data-error"]
        assert container.attributes.get("data-rendered") == "svg", chart_id
        assert len(_drawn(container)) >= 3, chart_id


def test_the_charts_show_the_warehouse_figures(run_report, warehouse):
    totals = warehouse.sql("SELECT published FROM stats.migration_totals "
                           "WHERE period = 'year' AND breakdown = 'total'").fetchall()
    annual = _texts(run_report.by_id("chart-annual-flows"))
    assert {f"{published:,}" for (published,) in totals} <= annual
    cuts = warehouse.sql("SELECT count(*) FROM stats.provisional_revisions "
                          "WHERE period = 'year'").fetchall()[0][0]
    points = [g for g in run_report.by_id("chart-backtest").iter()
              if {"mark-symbol", "role-mark"} <= set(g.attributes.get("class", "").split())]
    assert sum(len(g.find_all("path")) for g in points) == cuts
    certain = warehouse.sql(
        "SELECT count(*) FROM core.person_map WHERE match_probability >= 1").fetchall()[0][0]
    assert f"{certain:,}" in _texts(run_report.by_id("chart-weakest-links"))
    first_month = warehouse.sql(
        "SELECT strftime(min(event_date), '%Y-%m') FROM derived.migration_events"
    ).fetchall()[0][0]
    assert first_month in _texts(run_report.by_id("chart-monthly-flows"))


def test_first_page_holds_what_the_release_rests_on(run_report, warehouse):
    year = warehouse.sql("SELECT max(year) FROM stats.sensitivity").fetchall()[0][0]
    assert f"published year {year}" in run_report.by_id("run-header").all_text()
    page = run_report.by_id("first-page")
    shown = [e.attributes["id"] for e in page.children if e.tag == "section"]
    assert shown == list(FIRST_PAGE)


def test_sensitivity_table_gives_each_rule_from_the_stats_table(run_report, warehouse):
    from regmig.config import SENSITIVITY_RULES

    labels = [r.label for r in SENSITIVITY_RULES]
    table = run_report.by_id("sensitivity").find_all("table")[0]
    header = [th.all_text() for th in table.find_all("th")]
    assert [h.split()[0] for h in header[1:]] == labels
    shown = {row[0].all_text(): [c.find_all("strong")[0].all_text() for c in row[1:]]
             for row in ([td for td in tr.children if td.tag == "td"]
                         for tr in table.find_all("tr")) if row}
    figures = warehouse.sql("SELECT kind, rule, published FROM stats.sensitivity").fetchall()
    assert len(figures) == 2 * len(labels)
    for kind, rule, published in figures:
        assert shown[kind][labels.index(rule)] == f"{published:,}"


def test_annual_table_is_stats_migration_totals(run_report, warehouse):
    rows = {tuple(td.all_text() for td in tr.children if td.tag == "td")
            for tr in run_report.by_id("annual-flows").find_all("tr")}
    figures = warehouse.sql(
        "SELECT year, kind, published, final, provisional_expected, lower, upper, status "
        "FROM stats.migration_totals WHERE period = 'year' AND breakdown = 'total'"
    ).fetchall()
    assert figures
    for year, kind, published, final, provisional, lower, upper, status in figures:
        assert (str(year), kind, f"{published:,}", f"{final:,}", f"{provisional:,.1f}",
                f"{lower:,.0f}–{upper:,.0f}", status) in rows


def test_audit_result_and_its_threshold(run_report, warehouse, pipeline_run):
    import json

    audited, exposed = warehouse.sql(
        "SELECT count(*), count(*) FILTER (WHERE NOT ok) FROM stats.disclosure_audit"
    ).fetchall()[0]
    parameters = warehouse.sql(
        "SELECT parameters FROM meta.runs WHERE stage = 'publish' AND run_id = ?",
        params=[pipeline_run.run_id]).fetchall()[0][0]
    threshold = json.loads(parameters)["config"]["disclosure"]["threshold"]
    text = run_report.by_id("audit-result").all_text()
    assert exposed == 0 and "passed" in text
    assert f"{audited:,} primary cells" in text and f"threshold of {threshold} persons" in text


def test_quality_indicators_apart_from_timings(run_report, warehouse, pipeline_run):
    indicators = run_report.by_id("quality-indicators").find_all("tr")[1:]
    units = {tr.children[3].all_text() for tr in indicators}
    assert indicators and "seconds" not in units
    assert not any(tr.children[1].all_text().startswith("seconds") for tr in indicators)
    timings = run_report.by_id("timings").find_all("tr")[1:]
    steps = {tr.children[1].all_text() for tr in timings}
    recorded = {step for (step,) in warehouse.sql(
        "SELECT DISTINCT unnest(json_keys(timings)) FROM meta.runs WHERE run_id = ? "
        "AND stage <> 'pipeline'",
        params=[pipeline_run.run_id]).fetchall()}
    assert steps == recorded


def test_linkage_accuracy_is_shown_where_it_was_measured(pipeline_run, tmp_path):
    """Without truth or labels the report says so; with a recorded blocking recall (the
    indicator `link` records against a truth) it shows the value."""
    from regmig.flows.report import write_report
    from regmig.warehouse.paths import RunPaths
    from regmig.warehouse.quality import record_quality

    before = parse(pipeline_run.paths.report.read_text(encoding="utf-8"))
    assert "not measured" in before.by_id("linkage-accuracy").all_text()
    paths = RunPaths(tmp_path / "run")
    shutil.copytree(pipeline_run.out_dir, paths.out)
    with open_warehouse(paths) as con:
        record_quality(con, pipeline_run.run_id, "link",
                       [("blocking_recall", 0.9971, "ratio", "against the truth")])
        write_report(con, paths, pipeline_run.run_id)
    after = parse(paths.report.read_text(encoding="utf-8")).by_id("linkage-accuracy")
    assert "blocking recall" in after.all_text() and "0.9971" in after.all_text()


def test_linkage_report_draws_its_charts_and_links_back(linkage_report, pipeline_run):
    charts = [e for e in linkage_report.iter()
              if e.tag == "div" and e.attributes.get("id", "").startswith("chart")]
    assert len(charts) >= 2
    for chart in charts:
        assert chart.find_all("svg") or chart.find_all("canvas"), chart.attributes["id"]
    back = linkage_report.by_id("run-report")
    assert back is not None and back.tag == "a"
    target = (pipeline_run.paths.linkage_report.parent / back.attributes["href"]).resolve()
    assert target == pipeline_run.paths.report.resolve()


def _png_size(png: Path) -> tuple[int, int]:
    header = png.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", header[16:24])


def test_screenshots_of_both_reports(pipeline_run, tmp_path):
    for name in ("report", "linkage_report"):
        png = screenshot(pipeline_run.out_dir / f"{name}.html", tmp_path / f"{name}.png")
        assert _png_size(png) == WINDOW
        assert png.stat().st_size > MIN_SCREENSHOT_BYTES, (name, png.stat().st_size)
