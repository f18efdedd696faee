"""Benchmark: the monthly chain (issue 17) against a full re-link at the last month.

A `regmig synth --monthly` sequence (kept under /work/datasets/synth-monthly-N-sS-Y0-Y1/)
is run month by month into one run folder, each month a `regmig run` in its own process:
the first run (the first --history-months months in one folder) links in full, every
later month incrementally ([monthly] full_relink_every_months = 0, so nothing resets the
chain). Before the last month the run folder is kept; the last month then runs on copies
of it, --repeats times each: incrementally, and with `--full-relink` (alternating which
goes first). Measured:

- per month: wall and CPU seconds of the `regmig run` process (its children included),
  and each stage's seconds from meta.runs;
- at the last month (medians over the repeats): link-stage and whole-run time of the full
  re-link against the incremental run (target: incremental at least 10 times faster);
- persons of the chain against the full re-link: records given the same person id (the
  full re-link keeps ids by overlap too), records mapped alike under a one-to-one
  best-match mapping of person ids (pairs of an incremental and a full-re-link person,
  greatest overlap first; target >= 99.9%), records whose whole person is identical, and
  pairwise precision/recall of the chain's record pairs against the full re-link's;
- both against the truth: pairwise precision/recall/F1 and persons (linkage/evaluation.py);
- the chain's stats.revisions: mean absolute revision by lag (publish/revisions.py).

With --link-only each month is `regmig ingest` and then the link stage alone, in a
process of its own (this script's `link-step`), so that a long chain at scale costs its
links rather than a publish a month; the link's seconds are then the stage's own
(`link_seconds`: the wall of the stage call, without choosing the mode; `link_steps`:
its steps), and no revisions are measured.

Writes bench/results/monthly.json (or --results).

    flock /tmp/regmig-bench.lock nice -n 10 .venv/bin/python bench/bench_monthly.py \\
        --persons 20000 [--seed 71 --start 2022 --end 2023 --repeats 3] [--link-only]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "monthly.json"
BIN = Path(sys.executable).parent
DATASETS = Path("/work/datasets")
#: Only for the benchmark's own run folders; production keys come from the environment.
BENCH_KEY = "bench-key-not-for-production-0123456789abcdef"
#: No periodic full re-link: the chain runs incrementally from the first run to the last.
#: The disclosure integer program off (the fast repaired pattern kept, as in the monthly
#: tests): publish costs the same after either link, and with the program every month's
#: publish takes minutes, which would hide the link in the whole-run time.
SETTINGS = ("[monthly]\nfull_relink_every_months = 0\n\n"
            "[disclosure]\nsolver_time_limit = 0.0\n")
TARGETS = {"link_speedup": 10.0, "records_mapped_alike": 0.999}


def dataset(persons: int, seed: int, start: int, end: int) -> tuple[Path, float | None]:
    """The monthly sequence, generated unless already there; (folder, synth seconds)."""
    folder = DATASETS / f"synth-monthly-{persons}-s{seed}-{start}-{end}"
    if (folder / "truth" / "parameters.json").exists():
        return folder, None
    started = time.perf_counter()
    subprocess.run([str(BIN / "regmig"), "synth", "--monthly", "--persons", str(persons),
                    "--seed", str(seed), "--start", str(start), "--end", str(end),
                    "--out", str(folder)], check=True, stdout=subprocess.DEVNULL)
    return folder, round(time.perf_counter() - started, 1)


def run_month(input_dir: Path, out: Path, settings: Path, log: Path,
              *extra: str) -> dict[str, object]:
    """One `regmig run` in its own process: wall and CPU seconds (user + system, the
    process and the children it waited for), and meta.runs' record of it."""
    env = dict(os.environ, REGMIG_PSEUDONYM_KEY=os.environ.get("REGMIG_PSEUDONYM_KEY",
                                                               BENCH_KEY))
    started = time.perf_counter()
    with log.open("a") as sink:
        process = subprocess.Popen(
            [str(BIN / "regmig"), "run", "--input", str(input_dir), "--out", str(out),
             "--config", str(settings), *extra], stdout=sink, stderr=subprocess.STDOUT,
            env=env)
        _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"regmig run on {input_dir} failed; see {log}")
    return {"input": input_dir.name, "wall_seconds": round(wall, 2),
            "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2), **last_run(out)}


def link_month(input_dir: Path, out: Path, settings: Path, log: Path,
               *extra: str, code: Path | None = None) -> dict[str, object]:
    """`regmig ingest` of the month, then the link stage alone in a process of its own
    (`link-step`, of this checkout or of the checkout `code`, with its .venv): that
    process's wall and CPU seconds, and the stage's own."""
    env = dict(os.environ, REGMIG_PSEUDONYM_KEY=os.environ.get("REGMIG_PSEUDONYM_KEY",
                                                               BENCH_KEY))
    with log.open("a") as sink:
        started = time.perf_counter()
        subprocess.run([str(BIN / "regmig"), "ingest", "--input", str(input_dir), "--out",
                        str(out), "--config", str(settings)], check=True, stdout=sink,
                       stderr=subprocess.STDOUT, env=env)
        ingest_wall = time.perf_counter() - started
    started = time.perf_counter()
    python, script = ((sys.executable, __file__) if code is None else
                      (code / ".venv" / "bin" / "python", code / "bench" / "bench_monthly.py"))
    process = subprocess.Popen(
        [str(python), str(script), "link-step", str(out), str(settings), *extra],
        stdout=subprocess.PIPE, stderr=log.open("a"), env=env, text=True)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"the link of {input_dir} failed; see {log}")
    step = json.loads(output.strip().splitlines()[-1])
    return {"input": input_dir.name, "ingest_wall_seconds": round(ingest_wall, 2),
            "wall_seconds": round(wall, 2),
            "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
            "run_id": step["run_id"], "link_mode": step["mode"],
            "stage_seconds": {"link": step["link_seconds"]},
            "link_mode_seconds": step["mode_seconds"], "link_steps": step["steps"],
            "persons": step["persons"], "records": step["records"]}


def link_step(out: Path, settings: Path, full_relink: bool) -> None:
    """The link stage of one month as the pipeline's link flow runs it (the mode as
    `link_mode` says), recorded in meta.runs; prints its seconds as one JSON line."""
    from regmig.config import load_config
    from regmig.linkage import incremental
    from regmig.linkage.stage import STAGE, link
    from regmig.warehouse.paths import RunPaths
    from regmig.warehouse.runs import run_recorded_stage

    paths, config = RunPaths(out), load_config(settings)
    started = time.perf_counter()
    mode, why = incremental.link_mode(paths, config, full_relink)
    mode_seconds = time.perf_counter() - started
    timed = {}

    def call(run_id: str):  # noqa: ANN202
        started = time.perf_counter()
        summary = (incremental.link_incrementally(paths, config, run_id)
                   if mode == incremental.INCREMENTAL else link(paths, config, run_id))
        timed["link"] = time.perf_counter() - started
        timed["run_id"] = run_id
        return summary

    summary = run_recorded_stage(paths, STAGE, {"mode": mode, "mode_reason": why}, call)
    print(json.dumps({
        "run_id": timed["run_id"], "mode": mode, "mode_seconds": round(mode_seconds, 2),
        "link_seconds": round(timed["link"], 2),
        "steps": {k: round(v, 2) for k, v in summary.timings.items()},
        "persons": summary.row_counts.get("core.persons"),
        "records": summary.row_counts.get("core.person_map")}))


def last_run(out: Path) -> dict[str, object]:
    """The last pipeline run's stage seconds, link mode and sizes (meta.runs)."""
    with duckdb.connect(str(out / "warehouse.duckdb"), read_only=True) as con:
        run_id, timings = con.sql(
            "SELECT run_id, timings FROM meta.runs WHERE stage = 'pipeline' "
            "AND status = 'completed' ORDER BY started_at DESC LIMIT 1").fetchall()[0]
        mode, link_timings = con.execute(
            "SELECT parameters->>'$.mode', timings FROM meta.runs "
            "WHERE run_id = ? AND stage = 'link'", [run_id]).fetchall()[0]
        persons, records = con.sql(
            "SELECT count(DISTINCT person_id), count(*) FROM core.person_map").fetchall()[0]
    link_steps = json.loads(link_timings)
    return {"run_id": run_id, "link_mode": mode, "stage_seconds": json.loads(timings),
            "link_steps": {k: round(v, 2) for k, v in link_steps.items()},
            "persons": persons, "records": records}


def compare_persons(chain: Path, full: Path, truth: Path) -> dict[str, object]:
    """Persons of the chain against the full re-link, and both against the truth."""
    from regmig.linkage.evaluation import evaluate

    con = duckdb.connect()
    con.execute(f"ATTACH '{chain / 'warehouse.duckdb'}' AS chain (READ_ONLY)")
    con.execute(f"ATTACH '{full / 'warehouse.duckdb'}' AS full_relink (READ_ONLY)")
    con.execute(f"""
        CREATE TABLE truth AS
        SELECT source, record_id, person_id FROM '{truth / "record_person.parquet"}';
        CREATE TABLE c AS SELECT source, record_id, person_id FROM chain.core.person_map;
        CREATE TABLE f AS
        SELECT source, record_id, person_id FROM full_relink.core.person_map;
    """)
    alike = con.sql("""
        WITH both_ AS (
            SELECT c.person_id AS chain_person, f.person_id AS full_person
            FROM c JOIN f USING (source, record_id)
        ), overlap AS (   -- records each (chain person, full person) pair shares
            SELECT chain_person, full_person, count(*) AS shared FROM both_ GROUP BY ALL
        ), sizes AS (
            SELECT chain_person, full_person,
                   count(*) OVER (PARTITION BY chain_person) AS chain_pairs,
                   count(*) OVER (PARTITION BY full_person) AS full_pairs
            FROM overlap
        )
        SELECT (SELECT count(*) FROM both_) AS records,
               (SELECT count(*) FROM both_ WHERE chain_person = full_person) AS same_id,
               (SELECT sum(o.shared) FROM overlap AS o JOIN sizes AS s
                USING (chain_person, full_person)
                WHERE s.chain_pairs = 1 AND s.full_pairs = 1) AS identical_persons
    """).fetchall()[0]
    records, same_id, identical = alike
    chain_map, full_map = "SELECT * FROM c", "SELECT * FROM f"
    return {
        "records_compared": records,
        "records_same_person_id": same_id / records,
        "records_mapped_alike_best_match": best_match_share(con) / records,
        "records_in_identical_persons": int(identical or 0) / records,
        "chain_pairs_against_full_relink": evaluate(con, chain_map, full_map).as_dict(),
        "chain_against_truth": evaluate(con, chain_map, "SELECT * FROM truth").as_dict(),
        "full_relink_against_truth": evaluate(con, full_map, "SELECT * FROM truth").as_dict(),
    }


def best_match_share(con: duckdb.DuckDBPyConnection) -> int:
    """Records mapped alike under a one-to-one mapping of chain to full-re-link persons:
    person pairs taken greatest overlap first, each person used once (greedy)."""
    overlaps = con.sql("""
        SELECT c.person_id, f.person_id, count(*) AS shared
        FROM c JOIN f USING (source, record_id)
        GROUP BY ALL ORDER BY shared DESC, 1, 2
    """).fetchall()
    used_chain, used_full, alike = set(), set(), 0
    for chain_person, full_person, shared in overlaps:  # persons, not records
        if chain_person in used_chain or full_person in used_full:
            continue
        used_chain.add(chain_person)
        used_full.add(full_person)
        alike += shared
    return alike


def revisions_by_lag(out: Path) -> list[dict[str, object]]:
    from regmig.publish.revisions import MEAN_ABSOLUTE_REVISION_SQL
    from regmig.warehouse.connection import open_warehouse
    from regmig.warehouse.paths import RunPaths

    con = open_warehouse(RunPaths(out), read_only=True)
    try:
        return [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()}
                for r in con.sql(MEAN_ABSOLUTE_REVISION_SQL).pl().to_dicts()]
    finally:
        con.close()


def machine() -> dict[str, object]:
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return {"cpus": os.cpu_count(), "memory_gb": round(pages / 1e9, 1),
            "platform": platform.platform(), "python": platform.python_version(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}


def ratio(a: float, b: float) -> float:
    return round(a / b, 2) if b else float("nan")


def main() -> None:
    if sys.argv[1:2] == ["link-step"]:
        link_step(Path(sys.argv[2]), Path(sys.argv[3]), "--full-relink" in sys.argv[4:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=71)
    parser.add_argument("--start", type=int, default=2022)
    parser.add_argument("--end", type=int, default=2023)
    parser.add_argument("--history-months", type=int, default=1,
                        help="months the first (full) run takes in one folder")
    parser.add_argument("--repeats", type=int, default=3,
                        help="runs of the last month, incremental and full re-link each")
    parser.add_argument("--link-only", action="store_true",
                        help="each month: ingest, then the link stage alone")
    parser.add_argument("--keep", type=Path, help="keep the run folders here")
    parser.add_argument("--reuse-chain", type=Path,
                        help="a --keep folder of an earlier run of this sequence (its chain/ "
                             "and months_done.json): go on from the months it linked")
    parser.add_argument("--baseline", type=Path,
                        help="with --link-only: a checkout of other code (with its .venv, "
                             "e.g. a worktree of main) whose incremental link of the last "
                             "month is measured too, on the same chain")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()

    info = machine()
    deliveries, synth_seconds = dataset(args.persons, args.seed, args.start, args.end)
    months = sorted(p for p in deliveries.iterdir() if p.is_dir() and p.name != "truth")
    if args.baseline and not args.link_only:
        parser.error("--baseline needs --link-only")
    work = args.keep or Path(tempfile.mkdtemp(prefix="regmig-bench-monthly-"))
    work.mkdir(parents=True, exist_ok=True)
    settings, log = work / "settings.toml", work / "runs.log"
    settings.write_text(SETTINGS)
    chain = work / "chain"
    history = work / "history"
    history.mkdir(exist_ok=True)
    for month in months[:args.history_months]:
        for path in month.iterdir():
            shutil.copy2(path, history / path.name)
    inputs = [history, *months[args.history_months:-1]]
    one_month = link_month if args.link_only else run_month
    per_month: list[dict] = []
    if args.reuse_chain:
        per_month = json.loads((args.reuse_chain / "months_done.json").read_text())
        shutil.copytree(args.reuse_chain / "chain", chain, symlinks=True)
    done_file = work / "months_done.json"
    try:
        for number, input_dir in enumerate(inputs, start=1):
            if number <= len(per_month):
                continue  # linked in the chain reused
            per_month.append(one_month(input_dir, chain, settings, log))
            done_file.write_text(json.dumps(per_month, indent=1) + "\n")
            print(f"{number}/{len(inputs) + 1} {input_dir.name}: "
                  f"{per_month[-1]['link_mode']}, {per_month[-1]['wall_seconds']} s", flush=True)
        last = months[-1]
        incremental, full, baseline = [], [], []
        for repeat in range(args.repeats):
            arms = [("incremental", incremental, (), None),
                    ("full", full, ("--full-relink",), None)]
            if args.baseline:
                arms.insert(1, ("baseline", baseline, (), args.baseline))
            for name, runs, extra, code in arms if repeat % 2 == 0 else arms[::-1]:
                out = work / f"{name}-{repeat}"
                shutil.copytree(chain, out, symlinks=True)
                runs.append(one_month(last, out, settings, log, *extra, code=code)
                            if code else one_month(last, out, settings, log, *extra))
                print(f"{last.name} {name} #{repeat + 1}: {runs[-1]['link_mode']}, "
                      f"{runs[-1]['wall_seconds']} s", flush=True)
        assert {r["link_mode"] for r in incremental + baseline} == {"incremental"}
        assert {r["link_mode"] for r in full} == {"full"}
        per_month.append(incremental[0])

        def median(runs: list[dict], key: str) -> float:
            values = [r["stage_seconds"].get("link", 0.0) for r in runs] if key == "link" \
                else [r[key] for r in runs]
            return round(statistics.median(values), 2)

        arms = [("incremental", incremental), ("full_relink", full)]
        arms += [("baseline_incremental", baseline)] if baseline else []
        at_last = {
            kind: {"link_seconds": median(runs, "link"),
                   "wall_seconds": median(runs, "wall_seconds"),
                   "cpu_seconds": median(runs, "cpu_seconds")}
            for kind, runs in arms}
        keys = ("link_seconds", "wall_seconds", "cpu_seconds")
        speedup = {f"{key}_full_over_incremental": ratio(at_last["full_relink"][key],
                                                         at_last["incremental"][key])
                   for key in keys}
        if baseline:
            speedup |= {f"{key}_full_over_baseline_incremental": ratio(
                at_last["full_relink"][key], at_last["baseline_incremental"][key])
                for key in keys}
        persons = compare_persons(work / "incremental-0", work / "full-0",
                                  deliveries / "truth")
        if baseline:
            persons["baseline"] = compare_persons(work / "baseline-0", work / "full-0",
                                                  deliveries / "truth")
        results = {
            "benchmark": "monthly chain of incremental runs against a full re-link at the "
                         "last month (issue 17)",
            "command": "flock /tmp/regmig-bench.lock nice -n 10 .venv/bin/python "
                       f"bench/bench_monthly.py --persons {args.persons} --seed {args.seed} "
                       f"--start {args.start} --end {args.end} --history-months "
                       f"{args.history_months} --repeats {args.repeats}"
                       + (" --link-only" if args.link_only else "")
                       + (f" --reuse-chain {args.reuse_chain}" if args.reuse_chain else "")
                       + (f" --baseline {args.baseline}" if args.baseline else "")
                       + (f" --results {args.results}" if args.results != RESULTS else ""),
            "link_only": args.link_only,
            "persons": args.persons,
            "dataset": str(deliveries),
            "synth_seconds": synth_seconds,
            "months": len(months),
            "settings": SETTINGS,
            "targets": TARGETS,
            "last_month": last.name,
            "at_last_month": at_last,
            "speedup": speedup,
            "persons_compared": persons,
            "mean_absolute_revision_by_lag": (None if args.link_only else
                                              revisions_by_lag(work / "incremental-0")),
            "chain_wall_seconds": round(sum(r["wall_seconds"] for r in per_month), 1),
            "chain_cpu_seconds": round(sum(r["cpu_seconds"] for r in per_month), 1),
            "per_month": per_month,
            "last_month_runs": {"incremental": incremental, "full_relink": full,
                                "baseline_incremental": baseline},
            "baseline_code": str(args.baseline) if args.baseline else None,
            "chain_reused_from": str(args.reuse_chain) if args.reuse_chain else None,
            "machine": info,
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        args.results.parent.mkdir(parents=True, exist_ok=True)
        args.results.write_text(json.dumps(results, indent=2) + "\n")
        print(json.dumps({"at_last_month": at_last, "speedup": speedup,
                          "records_mapped_alike_best_match":
                              persons["records_mapped_alike_best_match"],
                          "records_same_person_id": persons["records_same_person_id"]},
                         indent=1))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
