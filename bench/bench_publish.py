"""Benchmark: the full table set protected and audited at 1,000,000-person scale.

    flock /tmp/regmig-bench.lock .venv/bin/python bench/bench_publish.py [--persons N]
        [--runs 3]

The upstream stages' 1M-person run is not available to this benchmark, so it
synthesises warehouse inputs of the contracted shapes (core.persons, core.crossings,
core.person_map, raw.population_register, raw.permits, derived.migration_events,
derived.resident_stock, derived.residence_spells) with DuckDB, at the rates of the
synthetic population (about 8% foreign citizens, 5% long-term movers a year, 18%
visitors), then times `publish` end to end. Results: bench/results/publish.json
(medians of the runs, peak RSS, machine information).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from regmig.config import Config
from regmig.warehouse.connection import open_warehouse
from regmig.warehouse.paths import RunPaths

#: Citizenships / countries of birth of foreigners, with weights (a long tail).
FOREIGN_COUNTRIES = (
    "RUS", "IRN", "IND", "SYR", "GEO", "UKR", "USA", "FRA", "CHN", "TUR", "IRQ", "LBN",
    "DEU", "ITA", "GBR", "GRC", "EGY", "KAZ", "BLR", "UZB", "ARE", "CAN", "ESP", "POL",
    "NLD", "ISR", "JOR", "PAK", "NGA", "BRA", "ARG", "JPN", "KOR", "VNM", "PHL", "AFG",
    "AZE", "TKM", "KGZ", "TJK",
)


def synthesise(paths: RunPaths, persons: int, year: int, country: str = "ARM",
               seed: float = 0.42) -> None:
    """Warehouse inputs for `publish` at the given scale (one year of flows)."""
    con = open_warehouse(paths)
    countries = "[" + ", ".join(f"'{c}'" for c in FOREIGN_COUNTRIES) + "]"
    n_foreign = len(FOREIGN_COUNTRIES)
    y0 = f"DATE '{year}-01-01'"
    con.execute(f"SELECT setseed({seed})")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE people AS
        SELECT i AS person_id, random() AS u1, random() AS u2, random() AS u3,
               random() AS u4, random() AS u5
        FROM range(1, {persons} + 1) AS t(i)""")
    # A skewed draw over the foreign countries: index = floor(n * u^2).
    foreign = f"{countries}[1 + floor({n_foreign} * u2 * u2)::INT]"
    con.execute(f"""
        INSERT INTO core.persons (person_id, sex, birth_year, birth_month, citizenship,
                                  first_citizenship, country_of_birth, n_crossings,
                                  n_register_records, n_permit_records, run_id)
        SELECT person_id,
               CASE WHEN u3 < 0.49 THEN 'M' WHEN u3 < 0.995 THEN 'F' END,
               {year} - 1 - floor(u4 * 90)::INT, 1 + floor(u5 * 12)::INT,
               CASE WHEN u1 < 0.92 THEN '{country}' ELSE {foreign} END,
               CASE WHEN u1 < 0.005 THEN {foreign}
                    WHEN u1 < 0.92 THEN '{country}' ELSE {foreign} END,
               CASE WHEN u1 < 0.89 THEN '{country}'
                    WHEN u1 < 0.9995 THEN {foreign} END,
               0, 1, 0, 'bench'
        FROM people""")
    con.execute(f"""
        INSERT INTO derived.resident_stock
        SELECT {y0}, p.person_id, p.citizenship, p.country_of_birth, p.sex,
               {year} - p.birth_year - 1, 'register', '12/16', 'bench'
        FROM core.persons AS p JOIN people USING (person_id) WHERE u5 < 0.80""")
    con.execute(f"""
        INSERT INTO derived.migration_events (person_id, record_id, event_date, kind,
            status, probability, citizenship, sex, age, country_of_birth,
            previous_next_country, reason, rule, run_id)
        SELECT p.person_id, 'x' || p.person_id, {y0} + floor(u4 * 365)::INT,
               CASE WHEN u3 < 0.5 THEN 'immigration' ELSE 'emigration' END,
               CASE WHEN u4 > 0.9 THEN 'provisional' ELSE 'final' END,
               CASE WHEN u4 > 0.9 THEN u2 ELSE 1 END,
               p.citizenship, p.sex, {year} - p.birth_year - 1, p.country_of_birth,
               CASE WHEN u2 < 0.6 THEN {foreign} ELSE '{country}' END, 'none', '12/16',
               'bench'
        FROM core.persons AS p JOIN people USING (person_id) WHERE u5 BETWEEN 0.80 AND 0.85
    """)
    con.execute(f"""
        INSERT INTO derived.residence_spells
        SELECT person_id, {y0} - 400, {y0} - 200, 1, 'crossings', '12/16', 'bench'
        FROM people WHERE u5 BETWEEN 0.85 AND 0.87
        UNION ALL
        SELECT person_id, {y0} - 199, NULL, 0, 'crossings', '12/16', 'bench'
        FROM people WHERE u5 BETWEEN 0.85 AND 0.87""")
    # Crossings: residents' trips and visitors' stays, a few per person.
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE trips AS
        SELECT person_id, k, {y0} + floor(((u4 + k * 0.37) % 1) * 360)::INT AS day
        FROM people, range(0, 1 + floor(u3 * 4)::INT) AS t(k)
        WHERE u5 > 0.55""")
    con.execute("""
        INSERT INTO core.crossings (record_id, person_id, crossing_date, crossed_at,
                                    direction, citizenship, run_id)
        SELECT 'c' || t.person_id || '-' || t.k || d.dir, t.person_id, t.day + d.shift,
               NULL, d.direction, p.citizenship, 'bench'
        FROM trips AS t JOIN core.persons AS p USING (person_id),
             (VALUES ('a', 'arrival', 0), ('d', 'departure', 3)) AS d(dir, direction, shift)
    """)
    con.execute("""
        INSERT INTO core.person_map SELECT 'border_crossings', record_id, person_id, 1,
        'bench' FROM core.crossings""")
    con.execute(f"""
        INSERT INTO raw.population_register (load_id, row_number, record_id, person_key,
            sex, citizenship, country_of_birth, registered_from, deregistered_on,
            deregistration_reason)
        SELECT 1, person_id, 'r' || person_id, 'k' || person_id, NULL, citizenship,
               country_of_birth, DATE '2000-01-01',
               CASE WHEN person_id % 100 = 0 THEN {y0} + (person_id % 360)::INT END,
               CASE WHEN person_id % 100 = 0 THEN 'death' END
        FROM core.persons WHERE citizenship = '{country}' OR person_id % 2 = 0""")
    con.execute(f"""
        INSERT INTO raw.population_register (load_id, row_number, record_id, person_key,
            citizenship, registered_from)
        SELECT 1, person_id, 'n' || person_id, 'k' || person_id, '{country}',
               {y0} + (person_id % 300)::INT
        FROM core.persons WHERE first_citizenship <> citizenship""")
    con.execute("""
        INSERT INTO core.person_map SELECT 'population_register', record_id,
            CAST(substr(record_id, 2) AS BIGINT), 1, 'bench' FROM raw.population_register""")
    con.execute(f"""
        INSERT INTO raw.permits (load_id, row_number, record_id, permit_id, permit_type,
            application_kind, application_date, decision, decision_date, valid_from,
            valid_to)
        SELECT 1, p.person_id * 10 + k, 'p' || (p.person_id * 10 + k),
               'P' || (p.person_id * 10 + k),
               CASE WHEN u2 < 0.5 THEN 'work' WHEN u2 < 0.7 THEN 'study'
                    WHEN u2 < 0.9 THEN 'family' ELSE 'asylum' END,
               CASE WHEN k = 0 THEN 'first' ELSE 'extension' END,
               {y0} + floor(u4 * 360)::INT - (200 * (1 - k))::INT,
               CASE WHEN u3 < 0.85 THEN 'granted' WHEN u3 < 0.95 THEN 'refused'
                    ELSE 'pending' END,
               {y0} + floor(u4 * 360)::INT - (200 * (1 - k))::INT + 30,
               {y0} - 200, {y0} + 400
        FROM core.persons AS p JOIN people USING (person_id),
             range(0, 1 + floor(u5 * 2)::INT) AS t(k)
        WHERE p.citizenship <> '{country}'""")
    con.execute("""
        INSERT INTO core.person_map SELECT 'permits', record_id, row_number // 10, 1,
        'bench' FROM raw.permits""")
    con.close()


def _peak_rss_mb() -> float:
    """Peak resident memory of this process or of any worker it waited for (MB)."""
    return max(resource.getrusage(who).ru_maxrss for who in (
        resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)) / 1024


def _cpu_seconds() -> float:
    """CPU seconds of this process and its finished workers (families in parallel)."""
    return sum(u.ru_utime + u.ru_stime for u in (
        resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--year", type=int, default=2024)
    parser.add_argument("--output", type=Path,
                        default=Path(__file__).parent / "results" / "publish.json")
    args = parser.parse_args(argv)
    from regmig.publish.stage import publish

    config = Config()
    with tempfile.TemporaryDirectory(prefix="regmig-bench-publish-") as tmp:
        paths = RunPaths(Path(tmp))
        started = time.perf_counter()
        synthesise(paths, args.persons, args.year, config.country)
        synth_seconds = time.perf_counter() - started
        totals, cpu, steps, summaries = [], [], [], []
        for run in range(args.runs):
            started, cpu_started = time.perf_counter(), _cpu_seconds()
            summary = publish(paths, config, f"bench-{run}", args.year)
            totals.append(time.perf_counter() - started)
            cpu.append(_cpu_seconds() - cpu_started)
            steps.append(summary.timings)
            summaries.append(summary)
            print(f"run {run + 1}: {totals[-1]:.1f} s  {summary.lines()[0]}", flush=True)
        with duckdb.connect(str(paths.warehouse), read_only=True) as con:
            rows = dict(con.sql("SELECT 'crossings', count(*) FROM core.crossings UNION ALL "
                                "SELECT 'permits', count(*) FROM raw.permits UNION ALL "
                                "SELECT 'events', count(*) FROM derived.migration_events "
                                "UNION ALL SELECT 'stock', count(*) FROM "
                                "derived.resident_stock").fetchall())
    last = summaries[-1]
    result = {
        "benchmark": "publish: full table set, protected (suppression) and audited",
        "command": "flock /tmp/regmig-bench.lock .venv/bin/python bench/bench_publish.py "
                   + " ".join(argv if argv is not None else sys.argv[1:]),
        "inputs": "synthesised with DuckDB in the contracted warehouse shapes (the "
                  "upstream 1M-person run was not available)",
        "persons": args.persons,
        "input_rows": rows,
        "synthesis_seconds": round(synth_seconds, 1),
        "runs": args.runs,
        "median_seconds": round(statistics.median(totals), 2),
        "all_seconds": [round(t, 2) for t in totals],
        "median_cpu_seconds": round(statistics.median(cpu), 2),
        "solver_time_limit": config.disclosure.solver_time_limit,
        "workers": config.disclosure.workers,
        "median_step_seconds": {k: round(statistics.median(s[k] for s in steps), 2)
                                for k in steps[0]},
        "tables": last.tables,
        "cells": last.cells,
        "cells_suppressed": last.cells_suppressed,
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "machine": {"platform": platform.platform(), "python": platform.python_version(),
                    "cpus": os.cpu_count()},
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
