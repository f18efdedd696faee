"""What the Prefect UI shows of a run: flow runs named for their month and delivery (and
each stage for its run), and the run's summary as a markdown artifact with the figures
of the estimates table and the path of the report."""

from __future__ import annotations

import re
from uuid import UUID

from regmig.flows.run_summary import ARTIFACT_KEY, summary_markdown
from regmig.warehouse.connection import open_warehouse


def _flow_run_ids(pipeline_run) -> dict[str, str]:
    with open_warehouse(pipeline_run.paths, read_only=True) as con:
        return dict(con.execute(
            "SELECT stage, flow_run_id FROM meta.runs WHERE run_id = ?",
            [pipeline_run.run_id]).fetchall())


def test_flow_runs_are_named_for_their_month_delivery_and_run(prefect_server, pipeline_run,
                                                              sample_delivery):
    from prefect.client.orchestration import get_client

    ids = _flow_run_ids(pipeline_run)
    with get_client(sync_client=True) as client:
        names = {stage: client.read_flow_run(UUID(flow_run_id)).name
                 for stage, flow_run_id in ids.items()}
    month = r"regmig-\d{4}-\d{2}"
    assert re.fullmatch(f"{month} {sample_delivery.name}", names["pipeline"]), names
    for stage in ("ingest", "link", "estimate", "publish"):
        assert re.fullmatch(f"{month} {stage} {pipeline_run.run_id}", names[stage]), names


def test_the_run_summary_is_an_artifact_of_the_pipeline_run(prefect_server, pipeline_run):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterKey,
        FlowRunFilter,
        FlowRunFilterId,
    )

    flow_run_id = UUID(_flow_run_ids(pipeline_run)["pipeline"])
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[ARTIFACT_KEY])),
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
    assert len(artifacts) == 1 and artifacts[0].type == "markdown"
    markdown = artifacts[0].data
    assert f"`{pipeline_run.paths.report}`" in markdown
    assert "Disclosure audit: **passed**" in markdown
    with open_warehouse(pipeline_run.paths, read_only=True) as con:
        year = con.sql("SELECT max(year) FROM stats.migration_totals").fetchall()[0][0]
        rows = con.execute("SELECT kind, published, lower, upper FROM stats.migration_totals "
                           "WHERE period = 'year' AND breakdown = 'total' AND year = ?",
                           [year]).fetchall()
        stages = con.execute("SELECT stage, status FROM meta.runs WHERE run_id = ? "
                             "AND stage <> 'pipeline'", [pipeline_run.run_id]).fetchall()
    assert len(rows) == 2
    for kind, published, lower, upper in rows:
        assert f"| {kind} | {published:,} | {lower:,.0f}–{upper:,.0f} |" in markdown
    for stage, status in stages:
        assert f"| {stage} | {status} |" in markdown


def test_the_run_summary_of_a_run_that_publishes_no_year(pipeline_run):
    """The first months of a monthly chain cover no whole calendar year, so the run
    publishes nothing while the estimates table holds figures: the summary says so and
    shows no year's figures."""
    with open_warehouse(pipeline_run.paths, read_only=True) as con:
        assert con.sql("SELECT count(*) FROM stats.migration_totals").fetchall()[0][0] > 0
        markdown = summary_markdown(con, pipeline_run.paths, pipeline_run.run_id, None)
    assert "nothing published yet" in markdown
    assert "| immigration |" not in markdown and "| emigration |" not in markdown
    assert f"`{pipeline_run.paths.report}`" in markdown
