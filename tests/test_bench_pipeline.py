"""The pipeline benchmark's measurements: the process-tree sampler sees a child's memory
and CPU, and a finished run's own records cut the samples into the right phases.

The benchmark itself runs in bench/ (`regmig bench`), never here: these tests check the
instruments on the demo run the suite already makes, not a timing.
"""

import json
import subprocess
import sys
import time

import duckdb
import pytest

from regmig.flows import benchmark


def test_the_sampler_sees_a_child_s_memory_and_cpu():
    """A child holding 200 MB and spinning for a second of its own CPU time (not of wall
    time: on a busy machine a second of wall time may hold a third of one): the tree of
    this process shows both, the child's pages counted with ours."""
    child = subprocess.Popen([sys.executable, "-c", (
        "import time\nblock = bytearray(200 * 2**20)\nfor i in range(0, len(block), 4096):\n"
        "    block[i] = 1\nend = time.process_time() + 1.0\n"
        "while time.process_time() < end: pass\n"
        "print('ready', flush=True)\ntime.sleep(30)\n")], stdout=subprocess.PIPE, text=True)
    try:
        before = benchmark._tree_usage(child.pid)
        assert child.stdout.readline().strip() == "ready"
        rss, cpu = benchmark._tree_usage(child.pid)
        assert rss >= 200 * 2**20
        assert cpu - before[1] >= 0.5
        own_rss, _ = benchmark._tree_usage(benchmark.os.getpid())
        assert own_rss >= rss  # the child is below this process
    finally:
        child.kill()
        child.wait()


def test_cpu_between_samples_is_interpolated():
    samples = [benchmark.Sample(10.0, 1, 2.0), benchmark.Sample(12.0, 5, 6.0)]
    assert benchmark._cpu_at(samples, 11.0) == pytest.approx(4.0)
    assert benchmark._cpu_at(samples, 9.0) == 2.0 and benchmark._cpu_at(samples, 13.0) == 6.0
    phase = benchmark.Phase("link", 10.5, 12.0).measure(samples)
    assert phase == {"wall_seconds": 1.5, "cpu_seconds": 3.0, "peak_rss_mb": 0}


def _run_window(out_dir):
    with duckdb.connect(str(out_dir / "warehouse.duckdb"), read_only=True) as con:
        start, end = con.sql("SELECT started_at, finished_at FROM meta.runs "
                             "WHERE stage = 'pipeline'").fetchall()[0]
    return benchmark._epoch(start), benchmark._epoch(end)


def test_a_run_s_records_cut_the_samples_into_its_phases(pipeline_run, sample_delivery,
                                                        tmp_path):
    start, end = _run_window(pipeline_run.out_dir)
    # One sample a second, memory peaking in the middle of the run, CPU one second per
    # second: each phase's CPU then equals its wall time.
    moments = [start - 6 + i for i in range(int(end - start) + 13)]
    middle = (start + end) / 2
    samples = [benchmark.Sample(t, (2 if abs(t - middle) < 1 else 1) * 2**30, t - start)
               for t in moments]
    measured = benchmark._from_warehouse(pipeline_run.out_dir, start - 5, end + 4, samples)

    phases = measured["phases"]
    assert list(phases) == ["startup", *benchmark.STAGES, "report", "shutdown"]
    assert phases["startup"]["wall_seconds"] == pytest.approx(5, abs=0.01)
    assert phases["shutdown"]["wall_seconds"] == pytest.approx(4, abs=0.01)
    inside = sum(p["wall_seconds"] for p in phases.values())
    assert inside + measured["orchestration_seconds"] == pytest.approx(end - start + 9, abs=0.1)
    for phase in phases.values():
        assert phase["cpu_seconds"] == pytest.approx(phase["wall_seconds"], abs=0.05)
    assert measured["total"]["peak_rss_mb"] == 2048
    assert max(p["peak_rss_mb"] for p in phases.values()) == 2048
    assert min(p["peak_rss_mb"] for p in phases.values()) == 1024

    delivered = sum(1 for path in sample_delivery.glob("*.csv")
                    for _ in open(path, encoding="utf-8")) - 3  # less the header rows
    assert measured["rows"]["ingest"]["in"] == delivered
    assert measured["rows"]["link"]["out_records"] == measured["rows"]["ingest"]["out"]
    assert 0 < measured["rows"]["link"]["out_persons"] < measured["rows"]["link"]["in"]
    assert measured["splink"]["comparisons"] > measured["rows"]["link"]["out_persons"]
    assert measured["stage_status"] == dict.fromkeys(benchmark.STAGES, "completed")

    truth = benchmark._truth_flows(sample_delivery)
    assert {(r["year"], r["kind"]) for r in measured["flows"]} <= set(truth)

    result = {"engine": "duckdb", "persons": 5000, "records": delivered,
              "crossings": measured["rows"]["estimate"]["in"],
              "measured_at": "2026-12-01T00:00:00", **measured}
    (tmp_path / "pipeline_duckdb_5000.json").write_text(json.dumps(result))
    table = benchmark.markdown(tmp_path)
    row = next(line for line in table.splitlines() if line.startswith("| duckdb | 5,000 |"))
    assert f"| {measured['total']['wall_seconds']:.0f} |" in row


def test_a_delivery_in_the_datasets_folder_is_reused(sample_delivery, tmp_path):
    shared = tmp_path / benchmark.dataset_name(5000, 1)
    shared.symlink_to(sample_delivery, target_is_directory=True)
    started = time.perf_counter()
    found, seconds = benchmark.synthetic_delivery(5000, 1, tmp_path)
    assert (found, seconds) == (shared, None)
    assert time.perf_counter() - started < 1
