"""Benchmark: regmig's cell suppression beside tau-argus's, table by table.

    flock /tmp/regmig-bench.lock .venv/bin/python bench/bench_tauargus.py --run DIR
        [--year 2024] [--tables migr_imm8,migr_emi2,...]

DIR is a run folder after `regmig publish` (e.g. the demo's regmig-out/). Each table is
protected alone, with the same threshold (cells 1..4 primary), by
- tau-argus (pytauargus 0.6.0, its HiGHS solvers): modular (MOD) and optimal (OPT),
  from the population's microdata, frequency rule FREQ(5, 10), hierarchies as .hrc;
- regmig's suppression (publish/disclosure) with its default settings;
and every pattern is attacked by regmig's outsider audit (publish/audit), which reads
the pattern as release files. Reported per table: cells and units (persons or cases)
suppressed, exposures (primary cells narrowed below width 5, pattern disclosures),
seconds; and regmig's figures for the table inside its family in DIR's release (the
loss that protecting linked tables together costs against the single-table optimum).
Results: bench/results/tauargus.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import os
import platform
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import polars as pl
from pytauargus import __version__ as tauargus_version
from pytauargus import protect as tau_protect

from regmig.config import Config
from regmig.publish import export, tau_argus
from regmig.publish.audit.verdict import audit_release
from regmig.publish.disclosure.family import TableCells, build_family
from regmig.publish.disclosure.primary import primary_cells
from regmig.publish.disclosure.protect import ProtectedFamily, protect
from regmig.publish.stage import all_specs, assemble, protection, release_header
from regmig.publish.tables.cube import TableSpec, tabulate
from regmig.publish.tables.populations import Reference, build_populations
from regmig.warehouse.connection import open_warehouse
from regmig.warehouse.paths import RunPaths

RESULTS = Path(__file__).parent / "results" / "tauargus.json"
#: Tables tau-argus can hold as they are: additive breakdowns, every cell published.
DEFAULT_TABLES = (
    "migr_imm8", "migr_emi2", "migr_acq", "un_3_2", "un_3_3", "un_3_5", "un_3_6",
    "iom1_foreigners_cases", "iom2_work_applications_cases", "iom2_work_decisions_cases",
    "iom3_entering_cases", "iom4_leaving_cases", "iom5_asylum_cases",
    "iom6_refugee_decisions_cases", "migr_imm1ctz", "migr_emi1ctz", "migr_imm3ctb",
    "migr_imm5prv", "migr_emi3nxt", "migr_pop1ctz", "migr_pop3ctb",
)
TAU_METHODS = {"modular": "MOD(1)", "optimal": "OPT(1)"}
TAU_TOTAL = "TOTAL"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True)
    parser.add_argument("--year", type=int, default=2024)
    parser.add_argument("--tables", default=",".join(DEFAULT_TABLES))
    args = parser.parse_args()
    config = Config()
    work = Path(tempfile.mkdtemp(prefix="regmig-tauargus-"))
    try:
        rows = run(args.run, work, config, args.year, args.tables.split(","))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result = {
        "benchmark": "cell suppression per table: regmig against tau-argus (pytauargus)",
        "command": "flock /tmp/regmig-bench.lock .venv/bin/python bench/bench_tauargus.py "
                   + " ".join(sys.argv[1:]),
        "pytauargus": tauargus_version,
        "threshold": config.disclosure.threshold,
        "tau_safety_rule": f"FREQ({config.disclosure.threshold},10)",
        "tables": rows,
        "summary": summary(rows),
        "machine": {"platform": platform.platform(), "python": platform.python_version()},
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["summary"], indent=2))
    return 0


def run(run_dir: Path, work: Path, config: Config, year: int, table_ids: list[str]) -> list:
    paths = RunPaths(work / "run")
    shutil.copytree(run_dir, paths.out, ignore=shutil.ignore_patterns("release*"))
    con = open_warehouse(paths)
    ref = Reference(year, date(year, 1, 1))
    build_populations(con, config, ref)
    specs = {s.table_id: s for s in all_specs(con, config)}
    rows = []
    for table_id in table_ids:
        # Alone: no bound by another table (tau-argus protects one table).
        spec = dataclasses.replace(specs[table_id], bounds=(), bounded_by=None)
        table = TableCells(spec, tabulate(con, spec))
        family = build_family(table_id, [table])
        row = {"table_id": table_id, "unit": spec.unit, "cells": table.cells.height,
               "primary": int(primary_cells(family, config.disclosure).sum())}
        started = time.perf_counter()
        ours = protect(family, config.disclosure)
        row["regmig"] = _figures(family, ours.suppressed, time.perf_counter() - started,
                                 _attack(work / table_id / "regmig", table, ours, config))
        micro = _microdata(con, spec)
        for name, method in TAU_METHODS.items():
            started = time.perf_counter()
            suppressed = _tau_argus(micro, table, family, method, config,
                                    work / table_id / name)
            seconds = time.perf_counter() - started
            if isinstance(suppressed, str):
                row[name] = {"error": suppressed}
                continue
            pattern = ProtectedFamily(family, "suppression", ours.primary, suppressed,
                                      family.values.copy(), None, seconds)
            row[name] = _figures(family, suppressed, seconds,
                                 _attack(work / table_id / f"{name}-release", table, pattern,
                                         config))
        row["regmig_in_family"] = _in_family(con, table_id)
        tau = [row[n]["units_suppressed"] for n in TAU_METHODS if "error" not in row[n]]
        best = min(tau, default=None)
        row["regmig_units_vs_best_tau"] = (row["regmig"]["units_suppressed"] / best
                                           if best else None)
        rows.append(row)
        print(json.dumps(row))
    con.close()
    return rows


def _figures(family, suppressed: np.ndarray, seconds: float, exposures: dict) -> dict:
    shown = family.released & suppressed
    return {"cells_suppressed": int(shown.sum()),
            "units_suppressed": int(family.values[shown].sum()),
            "exposures": exposures, "seconds": round(seconds, 2)}


def _attack(folder: Path, table: TableCells, pattern: ProtectedFamily, config: Config
            ) -> dict:
    """The outsider's audit of the pattern, written as a one-table release."""
    ref = Reference(2024, date(2024, 1, 1))
    result = assemble([table], {"f": pattern}, config, ref, {})
    staging, _ = export.stage_release(folder, result.release, [],
                                      release_header(config, ref, "bench"),
                                      result.release_loss)
    truth = {t: c.drop("released") for t, c in result.unprotected.items()}
    report = audit_release(staging, truth, protection(config.disclosure))
    failures = report.failures
    return {"narrowed": int((failures["finding"] == "narrowed").sum()),
            "pattern": int(failures["finding"].str.starts_with("pattern").sum()),
            "shown": int((failures["finding"] == "shown").sum())}


def _microdata(con, spec: TableSpec) -> pl.DataFrame:
    """One row per unit of the table's population, each dim at its leaf code."""
    unit = "record_id" if spec.unit == "cases" else spec.unit_column
    frame = con.sql(f"SELECT DISTINCT {unit}, {', '.join(spec.dim_names)} "
                    f"FROM {spec.population}").pl()
    return frame.select(*[pl.col(d.name).replace(dict(d.leaf_of or {})) for d in spec.dims]
                        ).with_columns(pl.lit(1).alias("one"))


def _tau_argus(micro: pl.DataFrame, table: TableCells, family, method: str,
               config: Config, folder: Path) -> np.ndarray | str:
    """Suppressed cells of the family (one table) as tau-argus protects it, or why
    pytauargus could not."""
    spec = table.spec
    folder.mkdir(parents=True, exist_ok=True)
    hrc = {}
    # pytauargus 0.6.0 rejects a hierarchy whose codes differ in length (error 1017):
    # every code of a hierarchical breakdown is padded to one width, and unpadded after.
    padded = {}
    for dim in spec.dims:
        if tau_argus.hierarchical(dim):
            width = max(len(c) for c in dim.codes)
            padded[dim.name] = {c: c.ljust(width, "_") for c in dim.codes}
            lines = [line.rstrip(tau_argus.HIER_LEAD) for line in tau_argus.hrc_lines(dim)]
            path = folder / f"{dim.name}.hrc"
            path.write_text("\n".join(
                line[:len(line) - len(line.lstrip(tau_argus.HIER_LEAD))]
                + padded[dim.name][line.lstrip(tau_argus.HIER_LEAD)] for line in lines) + "\n")
            hrc[dim.name] = str(path)
    micro = micro.with_columns(*[pl.col(d).replace(m) for d, m in padded.items()])
    # In a process of its own: pytauargus 0.6.0 crashes on some tables (a segfault in
    # its modular solver on a one-unit table), which must not end the bench.
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        try:
            rows = pool.submit(_tau_rows, micro.to_dicts(), spec.dim_names,
                               f"FREQ({config.disclosure.threshold},10)", method, hrc,
                               str(folder)).result()
        except BrokenProcessPool:
            return "pytauargus crashed (segmentation fault)"
        except Exception as exc:  # noqa: BLE001 - the bench records what tau-argus said
            return f"pytauargus failed: {str(exc).splitlines()[0]}"
    out = pl.DataFrame(rows)
    roots = {d.name: tau_argus.root(d) for d in spec.dims}
    out = out.with_columns(*[pl.col(d).cast(pl.Utf8).str.strip_chars().str.strip_chars_end(
        "_").replace({TAU_TOTAL: roots[d]}) for d in spec.dim_names])
    hidden = out.filter(pl.col("status").is_in(["U", "M"])).select(spec.dim_names)
    codes = table.cells.with_row_index("position").with_columns(
        pl.col("position").cast(pl.Int64)).join(
        family.members.with_columns(pl.col("position").cast(pl.Int64)), on="position")
    marked = codes.join(hidden, on=spec.dim_names, how="semi")["cell_id"].to_numpy()
    suppressed = np.zeros(family.n_cells, dtype=bool)
    suppressed[marked] = True
    return suppressed


def _tau_rows(micro: list[dict], dims: list[str], rule: str, method: str,
              hrc: dict[str, str], folder: str) -> list[dict]:
    # tau-argus writes its logs (HiTaS.log, cspSCIP.*, ...) to the working directory
    # whatever `workdir` says: this process is the worker's own, so move it there.
    os.chdir(folder)
    result = tau_protect(micro, dims, "one", safety_rules=rule, suppress=method,
                         hrc=hrc or None, totcode=TAU_TOTAL, workdir=folder)
    return result.tables[0].rows


def _in_family(con, table_id: str) -> dict:
    stats = con.sql(f"SELECT * FROM stats.{table_id}").pl().filter(pl.col("released"))
    hidden = stats.filter(pl.col("suppressed"))
    return {"cells_suppressed": hidden.height, "units_suppressed": int(hidden["value"].sum())}


def summary(rows: list[dict]) -> dict:
    def total(who: str, what: str) -> int:
        return sum(r[who][what] for r in rows if "error" not in r[who])

    return {
        who: {"cells_suppressed": total(who, "cells_suppressed"),
              "units_suppressed": total(who, "units_suppressed"),
              "exposures": sum(sum(r[who]["exposures"].values()) for r in rows
                               if "error" not in r[who]),
              "tables_failed": sum(1 for r in rows if "error" in r[who])}
        for who in ("regmig", "modular", "optimal")
    } | {"tables_regmig_within_5pct_of_best_tau": sum(
        1 for r in rows if r["regmig_units_vs_best_tau"] is not None
        and r["regmig_units_vs_best_tau"] <= 1.05), "tables": len(rows)}


if __name__ == "__main__":
    sys.exit(main())
