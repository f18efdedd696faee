"""Monthly runs end to end (real pipeline flows, Splink, DuckDB files, a real Prefect
server): a year of history linked in full, then month folders linked incrementally to the
persons that exist, one vintage per month; a re-run of the same month changes nothing; a
late file for an earlier month revises exactly the figures that a full re-link with that
file gives; the deployment picks up new month folders by itself."""

import os
import shutil
from pathlib import Path

import polars as pl
import pytest
from test_flows_schedule import (
    BIN,
    DEPLOYMENT_SECONDS,
    RUN_SECONDS,
    SERVER_START_SECONDS,
    _free_loopback_port,
    _healthy,
    _process,
    _wait_for,
)

from regmig.flows.cli import main
from regmig.flows.deployment import DEPLOYMENT_NAME, FLOW_NAME
from regmig.flows.stage_cache import PROVENANCE_COLUMNS
from regmig.warehouse.catalog import table_names
from regmig.warehouse.connection import open_warehouse
from regmig.warehouse.hashes import table_hash
from regmig.warehouse.paths import RunPaths

pytestmark = pytest.mark.slow

PERSONS, SEED = 800, 31
MONTHS = ("2023-01", "2023-02")
#: Departures of true 2022 emigrations held back from the history, delivered late.
LATE_DEPARTURES = 3
SETTINGS = "[disclosure]\nsolver_time_limit = 0.0\n"


def _fingerprint(out: Path) -> dict[str, tuple[int, str]]:
    """Every table's rows and content hash (the restricted stats.* too), run bookkeeping
    (meta.runs) aside."""
    with open_warehouse(RunPaths(out), read_only=True) as con:
        tables = [t for t in table_names(con) if t != "meta.runs"]
        return {t: (con.sql(f"SELECT count(*) FROM {t}").fetchall()[0][0],
                    table_hash(con, [t], PROVENANCE_COLUMNS)) for t in tables}


def _withheld(deliveries: Path) -> pl.DataFrame:
    """Record ids of departures of true emigrations in the first half of 2022, delivered
    once (no correction)."""
    truth = deliveries / "truth"
    events = pl.read_parquet(truth / "migration_events.parquet").filter(
        (pl.col("kind") == "emigration") & (pl.col("event_date").dt.year() == 2022))
    crossings = pl.read_parquet(truth / "crossings.parquet")
    once = pl.read_parquet(truth / "deliveries.parquet").group_by("record_id").len().filter(
        pl.col("len") == 1)
    return (crossings.filter((pl.col("direction") == "departure") & pl.col("recorded")
                             & (pl.col("crossing_date").dt.month() <= 6))
            .join(events, left_on=["person_id", "crossing_date"],
                  right_on=["person_id", "event_date"])
            .join(once, on="record_id").sort("record_id").head(LATE_DEPARTURES)
            .select("record_id"))


@pytest.fixture(scope="module")
def inbox(tmp_path_factory) -> Path:
    """history/ (every 2022 file, the late departures taken out), the month folders of
    2023-01 to 2023-03 under months/, and late/ with the late departures."""
    root = tmp_path_factory.mktemp("monthly_inbox")
    deliveries = root / "deliveries"
    assert main(["synth", "--monthly", "--persons", str(PERSONS), "--seed", str(SEED),
                 "--start", "2022", "--end", "2023", "--out", str(deliveries)]) == 0
    withheld = _withheld(deliveries)
    assert withheld.height == LATE_DEPARTURES
    (root / "history").mkdir()
    late = []
    for path in sorted(deliveries.glob("2022-*/*.csv")):
        frame = pl.read_csv(path, infer_schema=False)
        held = frame["record_id"].is_in(withheld["record_id"].implode())
        if path.name.startswith("border_crossings"):
            late.append(frame.filter(held))
        frame.filter(~held).write_csv(root / "history" / path.name)
    for month in MONTHS:
        shutil.copytree(deliveries / month, root / "months" / month)
    (root / "late").mkdir()
    pl.concat(late).write_csv(root / "late" / "border_crossings_2022-late.csv")
    (root / "settings.toml").write_text(SETTINGS)
    return root


def _run(folder: Path, out: Path, settings: Path, *extra: str) -> None:
    assert main(["run", "--input", str(folder), "--out", str(out), "--config",
                 str(settings), *extra]) == 0


@pytest.fixture(scope="module")
def first_month_run(inbox, tmp_path_factory, prefect_server) -> Path:
    """The run folder after the year of history (linked in full) and the first month
    (linked incrementally); tests copy it."""
    out = tmp_path_factory.mktemp("first_month_run") / "run"
    _run(inbox / "history", out, inbox / "settings.toml")
    _run(inbox / "months" / MONTHS[0], out, inbox / "settings.toml")
    return out


def _link_modes(out: Path) -> list[str]:
    with open_warehouse(RunPaths(out), read_only=True) as con:
        return [r[0] for r in con.sql(
            "SELECT parameters->>'$.mode' FROM meta.runs WHERE stage = 'link' "
            "AND status = 'completed' ORDER BY started_at").fetchall()]


def _partition(out: Path) -> set[frozenset[str]]:
    with open_warehouse(RunPaths(out), read_only=True) as con:
        persons = con.sql("SELECT list(source || record_id) FROM core.person_map "
                          "GROUP BY person_id").fetchall()
    return {frozenset(p[0]) for p in persons}


def test_monthly_chain_rerun_and_late_file(inbox, first_month_run, tmp_path):
    out, settings = tmp_path / "run", inbox / "settings.toml"
    shutil.copytree(first_month_run, out, symlinks=True)
    _run(inbox / "months", out, settings)  # the month folders not loaded yet
    assert _link_modes(out) == ["full", "incremental", "incremental"]
    vintages = sorted(p.name for p in (out / "releases").iterdir())
    assert len(vintages) == 3 and (out / "release").resolve().name == vintages[-1]

    # the same month again, and the folder of months again: nothing changes
    before = _fingerprint(out)
    _run(inbox / "months" / MONTHS[-1], out, settings)
    _run(inbox / "months", out, settings)
    assert _fingerprint(out) == before
    assert sorted(p.name for p in (out / "releases").iterdir()) == vintages

    # a late file for 2022: incrementally on the chain, and with a full re-link on a copy
    oracle = tmp_path / "oracle"
    shutil.copytree(out, oracle, symlinks=True)
    _run(inbox / "late", out, settings)
    _run(inbox / "late", oracle, settings, "--full-relink")
    assert _link_modes(out)[-1] == "incremental" and _link_modes(oracle)[-1] == "full"
    assert _partition(out) == _partition(oracle)

    with open_warehouse(RunPaths(out), read_only=True) as con:
        latest, before_late = (r[0] for r in con.sql(
            "SELECT DISTINCT vintage FROM stats.revisions ORDER BY 1 DESC LIMIT 2").fetchall())
        figures = con.sql("SELECT vintage, period, period_start, kind, breakdown, category, "
                          "status, published, previous_published, revision "
                          "FROM stats.revisions").pl()
    with open_warehouse(RunPaths(oracle), read_only=True) as con:
        oracle_figures = con.sql("SELECT period, period_start, kind, breakdown, category, "
                                 "published AS oracle FROM stats.migration_totals").pl()
    figure = ["period", "period_start", "kind", "breakdown", "category"]
    revised = figures.filter(pl.col("vintage") == latest).join(
        figures.filter(pl.col("vintage") == before_late).select(
            *figure, pl.col("published").alias("before")), on=figure, how="left").join(
        oracle_figures, on=figure, how="left")
    # the chain publishes what a full re-link with the late file gives, and its revision
    # is the move from the vintage before, figure by figure
    assert revised["oracle"].null_count() == 0
    assert (revised["published"] == revised["oracle"]).all()
    assert (revised["previous_published"] == revised["before"]).all()
    assert (revised["revision"] == revised["oracle"] - revised["before"]).all()
    # what moved: the late departures' emigrations of 2022, and provisional figures
    # (provisional events are counted by their cumulative probability, which the new
    # events shift); no final figure of anything else
    moved = revised.filter(pl.col("revision") != 0)
    emigration_2022 = (pl.col("kind") == "emigration") & (
        pl.col("period_start").dt.year() == 2022)
    assert moved.filter(~emigration_2022 & (pl.col("status") == "final")).height == 0
    (year,) = moved.filter(emigration_2022 & (pl.col("period") == "year")
                           & (pl.col("breakdown") == "total"))["revision"]
    assert 0 < year <= LATE_DEPARTURES


def test_the_deployment_picks_up_new_month_folders(inbox, first_month_run, tmp_path):
    """`regmig serve` on a folder of month folders, on a real Prefect server: a triggered
    run takes the month folder dropped in since the last run (and not the one loaded
    before) and links it incrementally; the next run finds nothing new and says so in
    meta.runs."""
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    out, dropbox = tmp_path / "run", tmp_path / "deliveries"
    shutil.copytree(first_month_run, out, symlinks=True)
    for month in MONTHS:  # the first was loaded from elsewhere: same files, same bytes
        shutil.copytree(inbox / "months" / month, dropbox / month)
    url = f"http://127.0.0.1:{_free_loopback_port()}/api"
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect-home"),
           "PREFECT_API_URL": url, "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_UI_ENABLED": "false", "PREFECT_RUNNER_POLL_FREQUENCY": "1"}
    port = url.split(":")[2].split("/")[0]
    server_log, serve_log = tmp_path / "server.log", tmp_path / "serve.log"
    triggered = []
    with _process([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1",
                   "--port", port], env, server_log):
        _wait_for("prefect server health", lambda: _healthy(url), SERVER_START_SECONDS,
                  server_log)
        with _process([str(BIN / "regmig"), "serve", "--input", str(dropbox), "--out",
                       str(out), "--config", str(inbox / "settings.toml")], env, serve_log), \
                temporary_settings(updates={PREFECT_API_URL: url}):

            def deployment():
                with get_client(sync_client=True) as client:
                    return client.read_deployment_by_name(f"{FLOW_NAME}/{DEPLOYMENT_NAME}")

            _wait_for("deployment registered", deployment, DEPLOYMENT_SECONDS, serve_log)
            for _ in range(2):
                flow_run = run_deployment(f"{FLOW_NAME}/{DEPLOYMENT_NAME}",
                                          timeout=RUN_SECONDS, poll_interval=1)
                assert flow_run.state is not None and flow_run.state.is_completed(), (
                    f"{flow_run.state}\n{serve_log.read_text()[-3000:]}")
                triggered.append(str(flow_run.id))

    with open_warehouse(RunPaths(out), read_only=True) as con:
        runs = [con.execute(
            "SELECT p.status, p.parameters->>'$.input_dir', l.parameters->>'$.mode' "
            "FROM meta.runs AS p LEFT JOIN meta.runs AS l "
            "ON l.run_id = p.run_id AND l.stage = 'link' "
            "WHERE p.stage = 'pipeline' AND p.flow_run_id = ?", [flow_run_id]).fetchall()
            for flow_run_id in triggered]
    assert runs == [
        [("completed", str(dropbox.resolve() / MONTHS[1]), "incremental")],
        [("skipped", str(dropbox.resolve()), None)],
    ]
