"""Incremental linkage: a monthly run links what is new to the persons that exist.

State. Every link run leaves in identifiers.duckdb (restricted, read by link alone) what
it compared and decided: each profile with its attributes, its component (profiles
connected by links at the cluster threshold), cluster and person (`ident.link_profiles`),
each scored pair at or above the predict threshold (`ident.link_pairs`), each record's
profile (`ident.link_records`), each profile's value counts for core.persons
(`ident.link_profile_values`), and the loads it had seen and a hash of the
core.person_map it wrote (`ident.link_state`). A run goes on incrementally only from a
state that matches the warehouse; otherwise it links all again. Each incremental run
updates the state rows of what it touched, so the state stays what a full link of the
same records would leave (tests/test_linkage_incremental.py compares the two).

An incremental run:
1. finds the *touched* profiles from the record map, the records loaded since the state
   and the records that left raw.* since (only loads that now hold fewer rows are read
   record by record): those holding a record loaded since (a new record, or a new
   version of one), those that lost records (a superseded delivery, a corrected
   document number) and those renamed (a profile is named by its smallest record id).
   Profiles with no record left are *gone*;
2. recomputes the touched profiles from their records, with the full link's SQL
   (linkage/profiles.py), except the *grown* ones: a profile that kept its records and
   gained only records never linked before, each attribute of which is empty or the
   profile's own, takes the state's row with its count and dates widened (a value added
   to the mode stays the mode), and the state's value counts with its new records';
   only its new records are read. New profiles, and touched ones whose compared
   attributes moved, are *changed*. A grown profile, or one that only gained crossings
   with the same modal details, is touched but not changed: its links stand;
3. scores the changed profiles against the others some blocking pass pairs them with
   (Splink's `predict_between`, on those alone) and among themselves (`predict_within`),
   with the stored model, the blocking passes a full link would choose on today's
   profiles and term frequencies over all of them;
4. re-clusters the affected *region* only: the old components that hold a changed or gone
   profile or that a new link reaches at the lowest probability clustering reads (the
   travel-history attachment's), with every component an earlier attachment joined to
   one of them, and the changed profiles (linkage/clustering.py: register conflicts split
   and lone profiles attached as in a full link, the travel histories read from the
   region's records). Any other component is untouched by the new links, so its
   clusters stand;
5. gives person ids by overlap with the old ones (linkage/stable_ids.py) to the persons
   of the region and of the touched profiles: a person keeps its id, and merges and
   splits the new evidence forces go to core.person_id_history;
6. writes for those persons the core.person_map and core.crossings rows that differ (new
   records and versions, records whose person or probability moved; a traveller's other
   crossings stand) and their core.persons rows, summed from their profiles' value
   counts (linkage/persons.py), so a person's earlier records are not read.

Cost. What still grows with the warehouse rather than with the month: copying the state
into the working database (profiles, pairs, the record map, value counts), counting the
blocking passes' blocks over all profiles (the choice a full link would make),
term-frequency tables over all profiles, the blocking pre-filter's joins over all
profiles, counting raw.*'s rows per load (to find records removed), and the hashes of
raw.* and core.person_map. Records are read only where they are new, their profile is
rebuilt or re-clustered. bench/bench_monthly.py --link-only measures it against a full
re-link.

Against a full re-link on the same model: pairs among unchanged profiles are the pairs a
full link scores (same attributes, same comparisons), and components are a property of
the whole pair graph, so the chain reproduces a full link's persons except where (a) a
full link's blocking on grown blocks would drop or add pairs among unchanged profiles, or
(b) term frequencies of names, which move with the population, would move a pair of
unchanged profiles across a threshold. A periodic full re-link (`regmig run
--full-relink`, `[monthly] full_relink_every_months`) removes both;
bench/bench_monthly.py measures how far the chain drifts before it.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import duckdb
import pyarrow as pa

from regmig.config import Config, LinkageConfig
from regmig.linkage import stable_ids
from regmig.schemas.table_spec import comment_relation, create_tables
from regmig.schemas.tables.identifiers import (
    LINK_PAIRS,
    LINK_PROFILE_VALUES,
    LINK_RECORDS,
    LINK_STATE,
)
from regmig.warehouse.connection import (
    check_restricted,
    open_identifiers,
    open_warehouse,
    transaction,
)
from regmig.warehouse.hashes import table_hash
from regmig.warehouse.paths import RunPaths
from regmig.warehouse.quality import record_quality
from regmig.warehouse.timing import Timer
from regmig.warehouse.writes import registered

STAGE = "link"
FULL, INCREMENTAL = "full", "incremental"
#: The state's profiles table (its columns follow linkage/profiles.py, so it is created
#: from the profiles themselves, with these bookkeeping columns after them).
LINK_PROFILES = "ident.link_profiles"
_BOOKKEEPING = {
    "component_id": "Component of the profile: the smallest profile id among the profiles "
                    "connected to it by links at the cluster threshold",
    "cluster_id": "Cluster of the profile (components split at register conflicts): its "
                  "smallest profile id",
    "in_conflict": "True when the profile's component held two register personal ids",
    "match_probability": "Strongest link of the profile inside its cluster (1 = alone)",
    "person_id": "Person of the profile (core.persons)",
    "run_id": "Link run that last wrote the row",
}
#: Profile columns not compared by the model: a change in them alone changes no link.
_NOT_COMPARED = ("unique_id", "n_records", "first_date", "last_date")
#: Columns blocking adds to the profiles (block sizes of bounded passes), never stored.
_BLOCK_SIZE_PREFIX = "block_"
#: The name under which an incremental run attaches identifiers.duckdb (read-only) to
#: its working database, to read the state.
_STATE_CATALOG = "link_state_db"
#: Columns of ident.link_records, as link_records (linkage/profiles.py) holds them.
_RECORD_COLUMNS = "source, record_id, load_id, profile_group, profile_id"
_PROVENANCE = ("run_id",)


@dataclass(frozen=True)
class LinkState:
    run_id: str
    mode: str
    last_load_id: int
    person_map_hash: str
    full_link_run_id: str
    full_link_data_end: date | None


def read_state(paths: RunPaths) -> LinkState | None:
    """The state the last link run left, or None."""
    if not paths.identifiers.exists():
        return None
    ident = open_identifiers(paths, read_only=True)
    try:
        tables = {r[0] for r in ident.sql(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'ident'").fetchall()}
        if not {"link_state", "link_profiles", "link_pairs"} <= tables:
            return None
        pair_columns = [r[0] for r in ident.sql(
            f"SELECT * FROM {LINK_PAIRS.qualified} LIMIT 0").description]
        if pair_columns != [c.name for c in LINK_PAIRS.columns]:
            return None  # written by an earlier version: link all again
        if "link_records" not in tables or (_is_empty(ident, LINK_RECORDS.qualified)
                                            and not _is_empty(ident, LINK_PROFILES)):
            return None  # left before the record map was kept: link all again
        rows = ident.sql(
            "SELECT run_id, mode, last_load_id, person_map_hash, full_link_run_id, "
            f"full_link_data_end FROM {LINK_STATE.qualified}").fetchall()
    finally:
        ident.close()
    return LinkState(*rows[0]) if len(rows) == 1 else None


def _is_empty(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return not con.sql(f"SELECT 1 FROM {table} LIMIT 1").fetchall()


def link_mode(paths: RunPaths, config: Config, full_relink: bool = False) -> tuple[str, str]:
    """(full | incremental, why): incremental when a state matches the warehouse and no
    full re-link is asked for or due."""
    if full_relink:
        return FULL, "a full re-link was asked for"
    if config.linkage.retrain:
        return FULL, "[linkage] retrain is set"
    if config.engine != "duckdb":
        return FULL, f"incremental linkage runs on DuckDB, not {config.engine}"
    state = read_state(paths)
    if state is None:
        return FULL, "no linkage state from an earlier run"
    warehouse = open_warehouse(paths)
    try:
        if _person_map_hash(warehouse) != state.person_map_hash:
            return FULL, "the linkage state does not match core.person_map"
        if _training_models(warehouse) == 0:
            return FULL, "no stored linkage model"
        data_end = warehouse.sql("SELECT max(crossing_date) FROM raw.border_crossings"
                                 ).fetchall()[0][0]
    finally:
        warehouse.close()
    every = config.monthly.full_relink_every_months
    if every and state.full_link_data_end and data_end and _months_between(
            state.full_link_data_end, data_end) >= every:
        return FULL, (f"periodic full re-link: {every} months of data since the full link "
                      f"of run {state.full_link_run_id}")
    return INCREMENTAL, f"from the state of run {state.run_id}"


def _months_between(earlier: date, later: date) -> int:
    return (later.year - earlier.year) * 12 + later.month - earlier.month


def _person_map_hash(warehouse: duckdb.DuckDBPyConnection) -> str:
    return table_hash(warehouse, ["core.person_map"], _PROVENANCE)


def _training_models(warehouse: duckdb.DuckDBPyConnection) -> int:
    return warehouse.sql("SELECT count(*) FROM core.linkage_models").fetchall()[0][0]


def _last_load_id(warehouse: duckdb.DuckDBPyConnection) -> int:
    return int(warehouse.sql("SELECT coalesce(max(load_id), 0) FROM meta.loads"
                             ).fetchall()[0][0])


def _data_end(warehouse: duckdb.DuckDBPyConnection) -> date | None:
    return warehouse.sql("SELECT max(crossing_date) FROM core.crossings").fetchall()[0][0]


# --- the state ------------------------------------------------------------------------


def save_full_link_state(work: duckdb.DuckDBPyConnection, paths: RunPaths,
                         warehouse: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """After a full link wrote the warehouse: its profiles, pairs and decisions become the
    state the next monthly run starts from. Reads the full link's working tables
    (profiles, components, profile_clusters, profile_probability, cluster_person,
    pairs)."""
    work.execute(f"""
        CREATE OR REPLACE TABLE state_out AS
        SELECT {_base_columns(work, "profiles", "p.")},
               min(p.unique_id) OVER (PARTITION BY c.component_id) AS component_id,
               pc.cluster_id, pc.in_conflict,
               coalesce(pp.match_probability, 1.0) AS match_probability,
               cp.person_id, $run_id AS run_id
        FROM profiles AS p
        JOIN components AS c USING (unique_id)
        JOIN profile_clusters AS pc USING (unique_id)
        LEFT JOIN profile_probability AS pp USING (unique_id)
        JOIN cluster_person AS cp ON cp.cluster_id = pc.cluster_id
    """, {"run_id": run_id})
    pairs = work.sql(f"""
        SELECT least(unique_id_l, unique_id_r) AS unique_id_l,
               greatest(unique_id_l, unique_id_r) AS unique_id_r,
               match_probability, match_weight, dob_level, '{run_id}' AS run_id
        FROM pairs
    """).to_arrow_table()
    # the warehouse is held for writing since the link read raw.*: no load came since
    state = (run_id, FULL, _last_load_id(warehouse), _person_map_hash(warehouse), run_id,
             _data_end(warehouse))
    _write_state(paths, work.sql("SELECT * FROM state_out").to_arrow_table(), pairs,
                 work.sql(f"SELECT {_RECORD_COLUMNS} FROM link_records").to_arrow_table(),
                 work.sql(_profile_value_counts("link_records")).to_arrow_table(),
                 state, replace=True)


def _profile_value_counts(records: str) -> str:
    """The value counts (persons.value_counts_sql) of each profile of `records`."""
    from regmig.linkage.persons import value_counts_sql

    return value_counts_sql(f"(SELECT *, profile_id AS unique_id FROM {records})",
                            "unique_id")


def _write_state(paths: RunPaths, profiles: pa.Table, pairs: pa.Table, records: pa.Table,
                 values: pa.Table, state: tuple[Any, ...], replace: bool,
                 dropped_profiles: pa.Table | None = None,
                 dropped_pair_ends: pa.Table | None = None,
                 dropped_records: pa.Table | None = None) -> None:
    """Replace the state (`replace`), or update it: profiles in `dropped_profiles` (and
    their value counts), pairs with an end in `dropped_pair_ends` and records (source,
    record_id) in `dropped_records` leave, `profiles`, `values`, `pairs` and `records`
    come in."""
    ident = open_identifiers(paths)
    try:
        with transaction(ident):
            create_tables(ident, [LINK_RECORDS, LINK_PROFILE_VALUES, LINK_PAIRS, LINK_STATE])
            with registered(ident, "_profiles_in", profiles):
                if replace:
                    ident.execute(f"DROP TABLE IF EXISTS {LINK_PROFILES}")
                    ident.execute(f"CREATE TABLE {LINK_PROFILES} AS SELECT * FROM _profiles_in")
                    _comment_profiles(ident)
                    ident.execute(f"DELETE FROM {LINK_PAIRS.qualified}")
                    ident.execute(f"DELETE FROM {LINK_RECORDS.qualified}")
                    ident.execute(f"DELETE FROM {LINK_PROFILE_VALUES.qualified}")
                else:
                    with registered(ident, "_dropped", dropped_profiles):
                        for table in (LINK_PROFILES, LINK_PROFILE_VALUES.qualified):
                            ident.execute(f"DELETE FROM {table} WHERE unique_id IN "
                                          "(SELECT unique_id FROM _dropped)")
                    with registered(ident, "_ends", dropped_pair_ends):
                        ident.execute(f"""
                            DELETE FROM {LINK_PAIRS.qualified}
                            WHERE unique_id_l IN (SELECT unique_id FROM _ends)
                               OR unique_id_r IN (SELECT unique_id FROM _ends)""")
                    ident.execute(f"INSERT INTO {LINK_PROFILES} BY NAME "
                                  "SELECT * FROM _profiles_in")
                    with registered(ident, "_dropped", dropped_records):
                        ident.execute(f"""
                            DELETE FROM {LINK_RECORDS.qualified} AS s USING _dropped AS d
                            WHERE s.source = d.source AND s.record_id = d.record_id""")
            for table, rows in ((LINK_RECORDS, records), (LINK_PROFILE_VALUES, values)):
                with registered(ident, "_rows_in", rows):
                    ident.execute(f"INSERT INTO {table.qualified} BY NAME "
                                  "SELECT * FROM _rows_in")
            with registered(ident, "_pairs_in", pairs):
                ident.execute(f"INSERT INTO {LINK_PAIRS.qualified} BY NAME "
                              "SELECT * FROM _pairs_in")
            ident.execute(f"DELETE FROM {LINK_STATE.qualified}")
            ident.execute(f"INSERT INTO {LINK_STATE.qualified} VALUES (?, ?, ?, ?, ?, ?, ?)",
                          [*state, datetime.now(UTC).replace(tzinfo=None)])
    finally:
        ident.close()


def _comment_profiles(ident: duckdb.DuckDBPyConnection) -> None:
    columns = [r[0] for r in ident.sql(f"SELECT * FROM {LINK_PROFILES} LIMIT 0").description]
    comment_relation(
        ident, LINK_PROFILES,
        "Linkage state (linkage/incremental.py): every profile of the last link run, "
        "with what it was linked to (unit: profiles; a profile is one travel document, "
        "register personal id or permit holder). Restricted: holds names and dates of "
        "birth as compared.",
        {c: _BOOKKEEPING.get(c, f"Profile attribute {c}, as linkage/profiles.py builds it")
         for c in columns})


def _base_columns(work: duckdb.DuckDBPyConnection, table: str, prefix: str = "") -> str:
    """The profile columns of `table` (without the block sizes blocking added)."""
    return ", ".join(f'{prefix}"{c}"' for c in _profile_columns(work, table))


def _profile_columns(work: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [r[0] for r in work.sql(f"SELECT * FROM {table} LIMIT 0").description
            if not r[0].startswith(_BLOCK_SIZE_PREFIX)]


# --- the incremental run --------------------------------------------------------------


def link_incrementally(paths: RunPaths, config: Config, run_id: str):  # noqa: ANN201
    """Link the records loaded since the state; see the module docstring. Returns the
    stage's LinkSummary."""
    from regmig.linkage.stage import LinkSummary, quiet_splink

    with quiet_splink():
        summary = LinkSummary(report=paths.linkage_report, mode=INCREMENTAL)
        _link_incrementally(paths, config, run_id, summary)
        counts = summary.row_counts
        summary.incremental_lines = [
            f"  {counts['records_new']:,} new records or versions; profiles touched "
            f"{counts['profiles_touched']:,} (grown {counts['profiles_grown']:,}), changed "
            f"{counts['profiles_changed']:,}, gone "
            f"{counts['profiles_gone']:,}; re-clustered {counts['profiles_relinked']:,}; "
            f"persons rewritten {counts['persons_rewritten']:,}"]
        return summary


def _link_incrementally(paths: RunPaths, config: Config, run_id: str, summary) -> None:  # noqa: ANN001
    from splink import DuckDBAPI

    from regmig.linkage import blocking, clustering, persons, training, working_db
    from regmig.linkage import profiles as profile_building
    from regmig.linkage.coverage import measure_coverage
    from regmig.linkage.engines import DuckDBLinkage

    settings = config.linkage
    state = read_state(paths)
    assert state is not None, "link_mode said incremental"
    timer = Timer(summary.timings)
    spill_dir = paths.out / "link_spill"
    spill_dir.mkdir(parents=True, exist_ok=True)
    warehouse = open_warehouse(paths)
    work = working_db.open_work_db(settings, spill_dir)
    engine = DuckDBLinkage(work)
    try:
        summary.input_hashes["raw"] = table_hash(
            warehouse, [f"raw.{s}" for s in working_db.SOURCES])
        last_load = _last_load_id(warehouse)
        model_id, model = training.latest_model(warehouse)
        summary.model_id = model_id
        summary.trained_on = "stored model of an earlier run"
        with timer.step("load_state"):
            values_made = _load_state(paths, warehouse, work, state.last_load_id)
        with timer.step("touched_profiles"):
            _find_touched(warehouse, work, state.last_load_id)
            _load_identities(paths, work, "loaded_records")
            _name_records(work)
            _find_resent(warehouse, work)
            _find_grown(work, state.last_load_id)
            _load_rebuilt(warehouse, paths, work)
            profile_building.build_profiles(work)  # the touched profiles not grown
            _touched_values(work)
            _add_grown_profiles(work)
            work.execute("ALTER TABLE profiles RENAME TO touched_profiles")
            _find_changed(work)
            _current_profiles(work)
        counts = _counts(work, ("new_records", "touched", "grown", "gone", "changed",
                                "profiles"))

        with timer.step("blocking"):
            coverage = measure_coverage(work)
            choices = blocking.choose_blocking_rules(work, coverage, settings)
        kept_rules = [c.rule for c in choices if c.kept]
        summary.blocking_rules = [c.name for c in choices if c.kept]
        db_api = DuckDBAPI(work)
        with timer.step("predict"):
            _split_changed_and_existing(work, choices)
            summary.comparisons = _score_changed(work, db_api, model, kept_rules, settings,
                                                 engine)
        with timer.step("cluster"):
            _find_region(work, _lowest_clustering_threshold(settings))
            _rewritten_profiles(work)
            # raw rows of the region's records (the travel-history attachment reads their
            # crossings) and of the new ones (the rows written are among them); the
            # profiles of all rewritten records from today's map: no names are needed,
            # the profiles are built already
            _load_raw(warehouse, work, "read_records")
            work.execute("""
                CREATE OR REPLACE TABLE link_records AS
                SELECT source, record_id, profile_id FROM current_records
                SEMI JOIN rewritten_records USING (source, record_id)""")
            region = db_api.register("region_profiles", dataset_display_name="region")
            edges = db_api.register("pairs", dataset_display_name="region_pairs")
            clusters = clustering.cluster_profiles(
                work, engine, training.linker_from_stored(region, model, kept_rules, engine,
                                                       validate=False),
                edges, settings.cluster_threshold, settings.attach_threshold,
                settings.travel_attach_threshold)
            summary.conflict_clusters = clusters.conflict_clusters
        with timer.step("stable_ids"):
            _clusters_of_rewritten(work)
            persons.build_record_clusters(work, settings.cluster_threshold)
            highest = _previous_map(warehouse, work)
            summary.id_events = stable_ids.assign_person_ids(work, highest)
            _value_counts_of_rewritten(work)
            persons.build_person_tables(work, run_id, from_profiles=True)
        counts |= _counts(work, ("region_profiles", "rewritten", "out_persons"))

        with timer.step("write_warehouse"):
            with transaction(warehouse):
                summary.row_counts |= _write_core(warehouse, work)
                stable_ids.write_history(warehouse, work, run_id)
                warehouse.execute("DELETE FROM meta.quality WHERE run_id = ? AND stage = ?",
                                  [run_id, STAGE])
                record_quality(warehouse, run_id, STAGE, _indicators(counts, summary))
            person_map_hash = _person_map_hash(warehouse)
        with timer.step("write_state"):
            _save_incremental_state(work, paths, run_id, state, last_load, person_map_hash,
                                    values_made)
        summary.row_counts |= {
            "profiles": counts["profiles"], "core.persons": _count(warehouse, "core.persons"),
            "core.person_map": _count(warehouse, "core.person_map"),
            "records_new": counts["new_records"], "profiles_touched": counts["touched"],
            "profiles_grown": counts["grown"],
            "profiles_changed": counts["changed"], "profiles_gone": counts["gone"],
            "profiles_relinked": counts["region_profiles"],
            "persons_rewritten": counts["out_persons"]}
    finally:
        work.close()
        warehouse.close()
        shutil.rmtree(spill_dir, ignore_errors=True)


def _counts(work: duckdb.DuckDBPyConnection, tables: tuple[str, ...]) -> dict[str, int]:
    return {t: _count(work, t) for t in tables}


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return int(con.sql(f"SELECT count(*) FROM {table}").fetchall()[0][0])


def _load_state(paths: RunPaths, warehouse: duckdb.DuckDBPyConnection,
                work: duckdb.DuckDBPyConnection, last_load_id: int) -> bool:
    """state_profiles, state_pairs, state_records (each record's profile) and
    state_values (each profile's value counts): views of the state, attached read-only
    as `_STATE_CATALOG` (copying it whole would cost more than the month; detach it,
    `_detach_state`, before writing the state). A state left before
    ident.link_profile_values was kept has its counts made once from every record it
    had linked (loaded up to `last_load_id`): returns True then (the state written after
    the run must hold them all)."""
    from regmig.linkage import profiles as profile_building

    check_restricted(paths.identifiers)
    work.execute(f"ATTACH '{paths.identifiers}' AS {_STATE_CATALOG} (READ_ONLY)")
    views = {"state_profiles": f"SELECT * EXCLUDE (run_id) FROM {_state(LINK_PROFILES)}",
             "state_pairs": f"SELECT * EXCLUDE (run_id) FROM {_state(LINK_PAIRS.qualified)}",
             "state_records": f"SELECT {_RECORD_COLUMNS} FROM {_state(LINK_RECORDS.qualified)}",
             "state_values": f"SELECT * FROM {_state(LINK_PROFILE_VALUES.qualified)}"}
    schema, name = LINK_PROFILE_VALUES.qualified.split(".")
    values_kept = bool(work.execute(
        "SELECT 1 FROM duckdb_tables() WHERE database_name = ? AND schema_name = ? "
        "AND table_name = ?", [_STATE_CATALOG, schema, name]).fetchall()) and not _is_empty(
        work, _state(LINK_PROFILE_VALUES.qualified))
    if not values_kept:
        del views["state_values"]
    for name, query in views.items():
        work.execute(f"CREATE OR REPLACE VIEW {name} AS {query}")
    if values_kept:
        return False
    _load_raw(warehouse, work)
    _load_identities(paths, work, "state_records")
    profile_building.build_link_records(work)
    work.execute("CREATE OR REPLACE TABLE state_values AS " + _profile_value_counts(
        f"(SELECT * FROM link_records WHERE load_id <= {int(last_load_id)})"))
    return True


def _state(table: str) -> str:
    """A state table `ident.<name>` as the working database sees it attached."""
    return f"{_STATE_CATALOG}.{table}"


def _detach_state(work: duckdb.DuckDBPyConnection) -> None:
    """Let go of identifiers.duckdb (the views of the state go with it), so that the
    state can be written: one process may not hold the file twice for writing."""
    views = work.sql("SELECT view_name FROM duckdb_views() WHERE NOT internal "
                     "AND view_name LIKE 'state_%'").fetchall()
    for (name,) in views:
        work.execute(f"DROP VIEW {name}")
    work.execute(f"DETACH {_STATE_CATALOG}")


def _no_identities(work: duckdb.DuckDBPyConnection) -> None:
    """An empty in_ident: profile ids need no names, so link_records can name profiles
    without reading identifiers.duckdb."""
    work.execute("CREATE OR REPLACE TABLE in_ident (source VARCHAR, load_id BIGINT, "
                 "record_id VARCHAR, given_name_clean VARCHAR, surname_clean VARCHAR, "
                 "date_of_birth DATE)")


def _load_raw(warehouse: duckdb.DuckDBPyConnection, work: duckdb.DuckDBPyConnection,
              only: str | None = None, since: int | None = None,
              append: bool = False) -> None:
    """The linkage columns of raw.* into `in_<source>`: every record, those listed in
    the work table `only` (source, record_id), or those loaded after load `since`; added
    to what `in_<source>` holds when `append`."""
    from regmig.linkage.working_db import RAW_COLUMNS, SOURCES

    keys = work.sql(f"SELECT source, record_id FROM {only}").to_arrow_table() if only else None
    for source in SOURCES:
        query = f"SELECT {RAW_COLUMNS[source]} FROM raw.{source}"
        if keys is not None:
            with registered(warehouse, "_keys", keys):
                arrow = warehouse.sql(
                    f"{query} WHERE record_id IN (SELECT record_id FROM _keys "
                    f"WHERE source = '{source}')").to_arrow_table()
        elif since is not None:
            arrow = warehouse.sql(f"{query} WHERE load_id > {int(since)}").to_arrow_table()
        else:
            arrow = warehouse.sql(query).to_arrow_table()
        with registered(work, "_raw_in", arrow):
            work.execute(f"INSERT INTO in_{source} SELECT * FROM _raw_in" if append else
                         f"CREATE OR REPLACE TABLE in_{source} AS SELECT * FROM _raw_in")


def _load_identities(paths: RunPaths, work: duckdb.DuckDBPyConnection, records: str) -> None:
    """Names and dates of birth of the records listed in `records`, as `in_ident`, and
    the neighbourhoods of the documents of the (cut-down) in_<source> tables."""
    from regmig.linkage.working_db import SOURCES, copy_document_neighbours

    keys = work.sql(f"SELECT source, record_id FROM {records}").to_arrow_table()
    ident = open_identifiers(paths, read_only=True)
    try:
        with registered(ident, "_keys", keys):
            arrow = ident.sql("""
                SELECT i.source, i.load_id, i.record_id, i.given_name_clean,
                       i.surname_clean, i.date_of_birth
                FROM ident.records AS i JOIN _keys AS k USING (source, record_id)
            """).to_arrow_table()
        work.execute("CREATE OR REPLACE TEMP TABLE _documents AS " + " UNION ".join(
            f"SELECT document_key FROM in_{source} WHERE document_key IS NOT NULL"
            for source in SOURCES))
        copy_document_neighbours(ident, work, "_documents")
    finally:
        ident.close()
    with registered(work, "_ident_in", arrow):
        work.execute("CREATE OR REPLACE TABLE in_ident AS SELECT * FROM _ident_in")


def _find_touched(warehouse: duckdb.DuckDBPyConnection, work: duckdb.DuckDBPyConnection,
                 last_load_id: int) -> None:
    """From the state's record map and the records loaded or removed since:
    arrived_records, removed_records, group_names, loaded_records (the records whose raw
    rows in_<source> now holds), current_records (today's map), new_records, touched
    (profile ids), gone (profile ids), touched_records and touched_map (the touched
    profiles' rows of today's map).

    Only the profile groups that gained or lost a record are named again. A group that
    only gained records keeps its name or takes a smaller new record id's (a profile is
    named by its smallest record id), so its earlier records are not read now: most
    such profiles grow (see _find_grown). A group that lost a record, or is renamed, is
    read whole and named as a full link names it."""
    from regmig.linkage import profiles as profile_building

    _load_raw(warehouse, work, since=last_load_id)
    _no_identities(work)
    profile_building.build_link_records(work)
    work.execute("""
        CREATE OR REPLACE TABLE arrived_records AS
        SELECT source, record_id, load_id, profile_group FROM link_records
    """)
    _find_removed(warehouse, work)
    work.execute("""
        CREATE OR REPLACE TABLE lost_groups AS   -- groups that lost a record
        SELECT DISTINCT s.source, s.profile_group FROM state_records AS s
        JOIN removed_records USING (source, record_id, load_id);

        CREATE OR REPLACE TABLE affected_groups AS   -- groups that gained or lost a record
        SELECT source, profile_group FROM arrived_records
        UNION SELECT source, profile_group FROM lost_groups;

        CREATE OR REPLACE TABLE group_names AS   -- groups that only gained: today's names
        WITH arrived_names AS (   -- link_records holds the arrived records alone
            SELECT source, profile_group, min(profile_id) AS arrived_id
            FROM link_records GROUP BY ALL
        ), state_names AS (
            SELECT DISTINCT source, profile_group, profile_id AS state_id
            FROM state_records SEMI JOIN arrived_names USING (source, profile_group)
        )
        SELECT a.source, a.profile_group, s.state_id,
               least(s.state_id, a.arrived_id) AS profile_id
        FROM arrived_names AS a
        LEFT JOIN state_names AS s USING (source, profile_group)
        ANTI JOIN lost_groups USING (source, profile_group);

        CREATE OR REPLACE TABLE regrouped_records AS   -- earlier records read now
        SELECT s.source, s.record_id FROM state_records AS s
        JOIN affected_groups AS a
          ON a.source = s.source AND a.profile_group = s.profile_group
        LEFT JOIN group_names AS g
          ON g.source = s.source AND g.profile_group = s.profile_group
        WHERE (g.state_id IS NULL OR g.profile_id <> g.state_id)   -- lost or renamed
          AND NOT EXISTS (SELECT 1 FROM removed_records AS x
                          WHERE x.source = s.source AND x.record_id = s.record_id
                            AND x.load_id = s.load_id);
    """)
    _load_raw(warehouse, work, only="regrouped_records", append=True)
    _name_records(work)
    work.execute(f"""
        CREATE OR REPLACE TABLE loaded_records AS SELECT source, record_id FROM link_records;

        CREATE OR REPLACE TABLE touched_map AS
        SELECT {_RECORD_COLUMNS} FROM link_records
        UNION ALL   -- the earlier records of groups that kept their names
        SELECT {_RECORD_COLUMNS} FROM state_records
        SEMI JOIN (SELECT source, profile_group FROM group_names WHERE profile_id = state_id)
            USING (source, profile_group);

        CREATE OR REPLACE TABLE current_records AS
        SELECT source, record_id, profile_id, load_id FROM state_records
        ANTI JOIN affected_groups USING (source, profile_group)
        UNION ALL
        SELECT source, record_id, profile_id, load_id FROM touched_map;

        CREATE OR REPLACE TABLE new_records AS
        SELECT source, record_id FROM arrived_records;

        CREATE OR REPLACE TABLE touched AS   -- new, renamed, grown, shrunk or re-sent
        SELECT DISTINCT profile_id AS unique_id FROM touched_map;

        CREATE OR REPLACE TABLE gone AS
        SELECT DISTINCT s.profile_id AS unique_id FROM state_records AS s
        JOIN affected_groups USING (source, profile_group)
        WHERE s.profile_id NOT IN (SELECT unique_id FROM touched);

        CREATE OR REPLACE TABLE touched_records AS
        SELECT source, record_id FROM touched_map;
    """)


def _name_records(work: duckdb.DuckDBPyConnection) -> None:
    """link_records of the records in_<source> holds, each with today's profile id: as
    linkage/profiles.py names it, but for a group that only gained records (only those
    are read) the name group_names gives it."""
    from regmig.linkage import profiles as profile_building

    profile_building.build_link_records(work)
    work.execute("""
        CREATE OR REPLACE TABLE link_records AS
        SELECT r.* REPLACE (coalesce(g.profile_id, r.profile_id) AS profile_id)
        FROM link_records AS r LEFT JOIN group_names AS g USING (source, profile_group)
    """)


def _find_removed(warehouse: duckdb.DuckDBPyConnection,
                  work: duckdb.DuckDBPyConnection) -> None:
    """removed_records: the state's records no longer in raw.* as linked (their load was
    superseded, or a later version of the record took their place). A load keeps its
    rows or loses some, never gains any, so only the loads raw.* now holds fewer rows of
    than the state are read record by record."""
    from regmig.linkage.working_db import SOURCES

    counts = warehouse.sql(" UNION ALL ".join(
        f"SELECT '{source}' AS source, load_id, count(*) AS n FROM raw.{source} GROUP BY ALL"
        for source in SOURCES)).to_arrow_table()
    with registered(work, "_raw_counts", counts):
        shrunk = work.sql("""
            WITH state_counts AS (
                SELECT source, load_id, count(*) AS n FROM state_records GROUP BY ALL
            )
            SELECT s.source, s.load_id FROM state_counts AS s
            LEFT JOIN _raw_counts AS r USING (source, load_id)
            WHERE r.n IS NULL OR r.n < s.n
        """).to_arrow_table()
    with registered(warehouse, "_shrunk", shrunk):
        present = warehouse.sql(" UNION ALL ".join(
            f"SELECT '{source}' AS source, record_id, load_id FROM raw.{source} "
            f"WHERE load_id IN (SELECT load_id FROM _shrunk WHERE source = '{source}')"
            for source in SOURCES)).to_arrow_table()
    with registered(work, "_shrunk", shrunk), registered(work, "_present", present):
        work.execute("""
            CREATE OR REPLACE TABLE removed_records AS
            SELECT s.source, s.record_id, s.load_id FROM state_records AS s
            JOIN _shrunk USING (source, load_id)
            ANTI JOIN _present USING (source, record_id, load_id)
        """)


def _find_resent(warehouse: duckdb.DuckDBPyConnection,
                 work: duckdb.DuckDBPyConnection) -> None:
    """resent_records: the new records that are new versions of a record linked before
    (the previous core.person_map holds their ids)."""
    keys = work.sql("SELECT source, record_id FROM new_records").to_arrow_table()
    with registered(warehouse, "_new", keys):
        resent = warehouse.sql("""
            SELECT m.source, m.record_id FROM core.person_map AS m
            JOIN _new USING (source, record_id)
        """).to_arrow_table()
    with registered(work, "_resent_in", resent):
        work.execute("CREATE OR REPLACE TABLE resent_records AS SELECT * FROM _resent_in")


def _find_grown(work: duckdb.DuckDBPyConnection, last_load_id: int) -> None:
    """grown: touched profiles of the state that kept every record they had and gained
    only records never linked before (not a new version: a version may move its record
    to another profile of the same name) agreeing with them: each attribute of each new
    record is empty or the profile's own (its modal value, one of its citizenships; a
    document or personal id not below the profile's, which is their smallest). Their
    compared attributes cannot have moved (a value added to the mode stays the mode),
    so they are not rebuilt from all their records: `_add_grown_profiles` takes the
    state's row. Reads the new records' `link_records` (a group that kept its name has
    only those read); grown_arrived_values: the value counts of the grown profiles' new
    records."""
    from regmig.linkage.profiles import NAME_SEPARATOR

    def not_below(column: str) -> str:
        return (f'(r.{column} IS NULL OR (s.{column} IS NOT NULL '
                f'AND r.{column} >= s.{column}))')

    work.execute(f"""
        CREATE OR REPLACE TABLE grown_records AS   -- each new record against its profile
        SELECT r.profile_id AS unique_id, r.record_date,
               x.record_id IS NULL AND (r.given_name IS NULL AND r.surname IS NULL
                OR coalesce(r.given_name, '') || '{NAME_SEPARATOR}' || coalesce(r.surname, '')
                   = coalesce(s.given_name, '') || '{NAME_SEPARATOR}' || coalesce(s.surname, ''))
               AND (r.date_of_birth IS NULL OR CAST(r.date_of_birth AS VARCHAR) = s.dob)
               AND (r.sex IS NULL OR r.sex = s.sex)
               AND (r.citizenship IS NULL OR r.citizenship = s.citizenship)
               AND (r.country_of_birth IS NULL OR r.country_of_birth = s.country_of_birth)
               AND (r.citizenship IS NULL OR list_contains(s.citizenships, r.citizenship))
               AND (r.second_citizenship IS NULL
                    OR list_contains(s.citizenships, r.second_citizenship))
               AND {not_below("document_key")} AND {not_below("person_key")} AS agrees
        FROM link_records AS r
        JOIN current_records AS c USING (source, record_id)
        JOIN state_profiles AS s ON s.unique_id = r.profile_id
        LEFT JOIN resent_records AS x USING (source, record_id)
        WHERE c.load_id > {int(last_load_id)};

        CREATE OR REPLACE TABLE grown AS
        WITH kept AS (   -- records a profile had and still has
            SELECT profile_id AS unique_id, count(*) AS n FROM current_records
            WHERE load_id <= {int(last_load_id)} GROUP BY ALL
        )
        SELECT g.unique_id, min(g.record_date) AS first_date,
               max(g.record_date) AS last_date, count(*) AS n_new
        FROM grown_records AS g
        JOIN state_profiles AS s USING (unique_id)
        LEFT JOIN kept AS k USING (unique_id)
        WHERE g.unique_id IN (SELECT unique_id FROM touched)
        GROUP BY g.unique_id, s.n_records
        HAVING bool_and(g.agrees) AND any_value(coalesce(k.n, 0)) = s.n_records;
    """)
    work.execute("CREATE OR REPLACE TABLE grown_arrived_values AS " + _profile_value_counts(
        "(SELECT * FROM link_records WHERE profile_id IN (SELECT unique_id FROM grown))"))


def _load_rebuilt(warehouse: duckdb.DuckDBPyConnection, paths: RunPaths,
                  work: duckdb.DuckDBPyConnection) -> None:
    """rebuilt_records, and in in_<source> and in_ident every record of the touched
    profiles not grown, to be rebuilt from them (the earlier records of groups that
    kept their names are read now)."""
    from regmig.linkage.working_db import SOURCES

    work.execute("""
        CREATE OR REPLACE TABLE rebuilt_records AS
        SELECT source, record_id FROM touched_map
        WHERE profile_id NOT IN (SELECT unique_id FROM grown);

        CREATE OR REPLACE TABLE unread_records AS
        SELECT source, record_id FROM rebuilt_records
        ANTI JOIN loaded_records USING (source, record_id);
    """)
    _load_raw(warehouse, work, only="unread_records", append=True)
    for source in SOURCES:
        work.execute(f"""
            DELETE FROM in_{source} WHERE record_id NOT IN
            (SELECT record_id FROM rebuilt_records WHERE source = '{source}')""")
    _load_identities(paths, work, "rebuilt_records")


def _touched_values(work: duckdb.DuckDBPyConnection) -> None:
    """touched_values: the value counts of the touched profiles, the rebuilt ones' from
    all their records (link_records), the grown ones' the state's with their new
    records' added."""
    work.execute(f"""
        CREATE OR REPLACE TABLE touched_values AS
        {_profile_value_counts("link_records")}
        UNION ALL
        SELECT unique_id, attribute, value, sum(n) AS n, min(first_date) AS first_date,
               max(last_date) AS last_date
        FROM (SELECT * FROM state_values WHERE unique_id IN (SELECT unique_id FROM grown)
              UNION ALL SELECT * FROM grown_arrived_values)
        GROUP BY ALL
    """)


def _add_grown_profiles(work: duckdb.DuckDBPyConnection) -> None:
    """The grown profiles' rows into `profiles`: the state's, with their new records
    counted and their first and last dates widened."""
    columns = [c for c in _profile_columns(work, "profiles")
               if c not in ("n_records", "first_date", "last_date")]
    work.execute(f"""
        INSERT INTO profiles BY NAME
        SELECT {", ".join(f's."{c}"' for c in columns)},
               s.n_records + g.n_new AS n_records,
               -- least and greatest pass over a missing date
               least(s.first_date, g.first_date) AS first_date,
               greatest(s.last_date, g.last_date) AS last_date
        FROM state_profiles AS s JOIN grown AS g USING (unique_id)
    """)


def _find_changed(work: duckdb.DuckDBPyConnection) -> None:
    """changed: touched profiles that are new or whose compared attributes moved."""
    compared = [c for c in _profile_columns(work, "touched_profiles")
                if c not in _NOT_COMPARED]
    differs = " OR ".join(f't."{c}" IS DISTINCT FROM s."{c}"' for c in compared)
    work.execute(f"""
        CREATE OR REPLACE TABLE changed AS
        SELECT t.unique_id FROM touched_profiles AS t
        LEFT JOIN state_profiles AS s USING (unique_id)
        WHERE s.unique_id IS NULL OR {differs}
    """)


def _current_profiles(work: duckdb.DuckDBPyConnection) -> None:
    """profiles: today's profiles, the Splink input (unchanged ones from the state)."""
    columns = _base_columns(work, "touched_profiles")
    work.execute(f"""
        CREATE OR REPLACE TABLE profiles AS
        SELECT {columns} FROM touched_profiles
        UNION ALL BY NAME
        SELECT {columns} FROM state_profiles
        WHERE unique_id NOT IN (SELECT unique_id FROM touched)
          AND unique_id NOT IN (SELECT unique_id FROM gone)
    """)


def _split_changed_and_existing(work: duckdb.DuckDBPyConnection,
                                choices: list[Any]) -> None:
    """changed_profiles, and existing_profiles: the other profiles that some kept blocking
    pass (`choices`, blocking.BlockingChoice) pairs with a changed one, read as Splink's
    `predict_between(existing, changed)` reads it (existing on the left: a capped pass
    reads the left side's block size). Splink then blocks, and joins term frequencies,
    for those alone rather than for the whole warehouse; the pairs are the same, since a
    pair needs a pass."""
    blocked = " UNION ".join(_blocked_by(choice) for choice in choices if choice.kept)
    work.execute(f"""
        CREATE OR REPLACE TABLE changed_profiles AS
        SELECT * FROM profiles WHERE unique_id IN (SELECT unique_id FROM changed);

        CREATE OR REPLACE TABLE existing_profiles AS
        WITH others AS (
            SELECT * FROM profiles WHERE unique_id NOT IN (SELECT unique_id FROM changed)
        ), blocked AS ({blocked})
        SELECT * FROM others WHERE unique_id IN (SELECT unique_id FROM blocked);
    """)


def _blocked_by(choice: Any) -> str:
    """The ids of `others` that the pass pairs with some changed profile. A list pass
    (an exploding rule: lists sharing an element) joins on the elements, since its
    condition on a pair would compare every other profile with every changed one."""
    from regmig.linkage.model_settings import BLOCKING_PASSES

    blocking_pass = next(p for p in BLOCKING_PASSES if p.name == choice.name)
    if not blocking_pass.exploded:
        return ("SELECT l.unique_id FROM others AS l JOIN changed_profiles AS r "
                f"ON {choice.condition}")
    (key,) = blocking_pass.keys
    return f"""
        SELECT l.unique_id
        FROM (SELECT unique_id, unnest("{key}") AS element FROM others) AS l
        JOIN (SELECT DISTINCT unnest("{key}") AS element FROM changed_profiles) AS r
          USING (element)"""


def _tf_columns(model: dict[str, Any]) -> list[str]:
    """Columns whose term frequencies the model's comparisons use."""
    return sorted({level["tf_adjustment_column"]
                   for comparison in model["comparisons"]
                   for level in comparison["comparison_levels"]
                   if level.get("tf_adjustment_column")})


def _score_changed(work: duckdb.DuckDBPyConnection, db_api, model: dict[str, Any],  # noqa: ANN001
                   kept_rules: list[Any], settings, engine) -> int:  # noqa: ANN001
    """new_pairs: changed profiles against the others and among themselves; returns the
    pairs scored above the predict threshold."""
    from regmig.linkage import training

    profiles = db_api.register("profiles", dataset_display_name="profiles")
    linker = training.linker_from_stored(profiles, model, kept_rules, engine,
                                         validate=False)
    for column in _tf_columns(model):  # over all of today's profiles, as a full link
        linker.table_management.compute_tf_table(column)
    work.execute("CREATE OR REPLACE TABLE new_pairs (unique_id_l VARCHAR, unique_id_r VARCHAR, "
                 "match_probability DOUBLE, match_weight DOUBLE, dob_level INTEGER)")
    if _count(work, "changed_profiles") == 0:
        return 0
    changed = db_api.register("changed_profiles", dataset_display_name="changed")
    scored = [linker.inference.predict_within(
        changed, threshold_match_probability=settings.predict_threshold,
        warning_mode="never")]
    if _count(work, "existing_profiles"):
        existing = db_api.register("existing_profiles", dataset_display_name="existing")
        scored.append(linker.inference.predict_between(
            existing, changed, threshold_match_probability=settings.predict_threshold,
            warning_mode="never"))
    for predictions in scored:
        columns = {c.unquote().name.lower() for c in predictions.columns}
        # as prediction.predict_pairs keeps it, for clustering's lone profiles
        dob_level = "gamma_dob" if "gamma_dob" in columns else "CAST(NULL AS INTEGER)"
        work.execute(f"""
            INSERT INTO new_pairs
            SELECT least(unique_id_l, unique_id_r), greatest(unique_id_l, unique_id_r),
                   match_probability, match_weight, {dob_level}
            FROM {predictions.physical_name}
        """)
        predictions.drop_table_from_database_and_remove_from_cache()
    return _count(work, "new_pairs")


def _lowest_clustering_threshold(settings: LinkageConfig) -> float:
    """The lowest link probability any clustering step reads (linkage/clustering.py)."""
    thresholds = (settings.cluster_threshold, settings.attach_threshold,
                  settings.travel_attach_threshold)
    return min(t for t in thresholds if t is not None)


def _find_region(work: duckdb.DuckDBPyConnection, threshold: float) -> None:
    """all_pairs (the state's pairs with the new ones), affected_components,
    region_profiles (the Splink input of re-clustering) and pairs (its edges)."""
    work.execute(f"""
        CREATE OR REPLACE TABLE dropped_ends AS
        SELECT unique_id FROM changed UNION SELECT unique_id FROM gone;

        CREATE OR REPLACE TABLE all_pairs AS
        SELECT unique_id_l, unique_id_r, match_probability, match_weight, dob_level
        FROM state_pairs
        WHERE unique_id_l NOT IN (SELECT unique_id FROM dropped_ends)
          AND unique_id_r NOT IN (SELECT unique_id FROM dropped_ends)
        UNION ALL SELECT * FROM new_pairs;

        CREATE OR REPLACE TABLE affected_components AS
        WITH linked AS (   -- old profiles a new link at the threshold reaches
            SELECT unique_id_l AS unique_id FROM new_pairs
            WHERE match_probability >= {float(threshold)}
            UNION SELECT unique_id_r FROM new_pairs
            WHERE match_probability >= {float(threshold)}
        ), reached AS (
            SELECT DISTINCT component_id, cluster_id FROM state_profiles
            WHERE unique_id IN (SELECT unique_id FROM dropped_ends)
               OR unique_id IN (SELECT unique_id FROM linked)
        )   -- with the components an attachment joined into the same cluster
        SELECT DISTINCT s.component_id FROM state_profiles AS s
        WHERE s.component_id IN (SELECT component_id FROM reached)
           OR s.cluster_id IN (SELECT cluster_id FROM reached);

        CREATE OR REPLACE TABLE region_profiles AS
        SELECT * FROM profiles
        WHERE unique_id IN (SELECT unique_id FROM changed)
           OR unique_id IN (SELECT unique_id FROM state_profiles WHERE component_id IN
                            (SELECT component_id FROM affected_components));

        CREATE OR REPLACE TABLE pairs AS
        SELECT * FROM all_pairs
        WHERE unique_id_l IN (SELECT unique_id FROM region_profiles)
          AND unique_id_r IN (SELECT unique_id FROM region_profiles);
    """)


def _rewritten_profiles(work: duckdb.DuckDBPyConnection) -> None:
    """rewritten (profile ids): the profiles of every person whose core.persons row is
    written again, the persons of the region and of the touched profiles; and
    rewritten_records: the records of the region and of the touched profiles, whose
    clusters decide the persons' ids; and read_records: those whose rows can be written,
    the region's and the new ones (a profile outside the region keeps its cluster,
    person and links, so its earlier records' rows stand)."""
    work.execute("""
        CREATE OR REPLACE TABLE touched_persons AS
        SELECT DISTINCT person_id FROM state_profiles
        WHERE unique_id IN (SELECT unique_id FROM touched)
           OR unique_id IN (SELECT unique_id FROM gone)
           OR component_id IN (SELECT component_id FROM affected_components);

        CREATE OR REPLACE TABLE rewritten AS
        SELECT unique_id FROM region_profiles
        UNION
        SELECT unique_id FROM state_profiles
        WHERE person_id IN (SELECT person_id FROM touched_persons)
          AND unique_id NOT IN (SELECT unique_id FROM gone)
        UNION
        SELECT unique_id FROM touched;

        CREATE OR REPLACE TABLE rewritten_records AS   -- of the profiles re-clustered or touched
        SELECT source, record_id FROM current_records
        WHERE profile_id IN (SELECT unique_id FROM region_profiles)
           OR profile_id IN (SELECT unique_id FROM touched);

        CREATE OR REPLACE TABLE read_records AS   -- those whose rows can be written
        SELECT source, record_id FROM current_records
        WHERE profile_id IN (SELECT unique_id FROM region_profiles)
        UNION SELECT source, record_id FROM new_records;
    """)


def _value_counts_of_rewritten(work: duckdb.DuckDBPyConnection) -> None:
    """profile_value_counts of the rewritten profiles: the touched ones' from their
    records, the others' from the state (their records are the same), so that a person
    that gained a crossing is summed up from its profiles rather than read in full."""
    work.execute("""
        CREATE OR REPLACE TABLE profile_value_counts AS
        SELECT * FROM touched_values
        UNION ALL
        SELECT * FROM state_values
        WHERE unique_id IN (SELECT unique_id FROM rewritten)
          AND unique_id NOT IN (SELECT unique_id FROM touched)
    """)


def _clusters_of_rewritten(work: duckdb.DuckDBPyConnection) -> None:
    """profile_clusters and pairs over the rewritten profiles: the region's from its
    re-clustering, the others' from the state."""
    work.execute("""
        CREATE OR REPLACE TABLE region_clusters AS SELECT * FROM profile_clusters;

        CREATE OR REPLACE TABLE profile_clusters AS
        SELECT unique_id, cluster_id, in_conflict FROM region_clusters
        UNION ALL
        SELECT unique_id, cluster_id, in_conflict FROM state_profiles
        WHERE unique_id IN (SELECT unique_id FROM rewritten)
          AND unique_id NOT IN (SELECT unique_id FROM region_clusters);

        CREATE OR REPLACE TABLE region_components AS
        SELECT unique_id, min(unique_id) OVER (PARTITION BY component_id) AS component_id
        FROM components;

        CREATE OR REPLACE TABLE pairs AS
        SELECT * FROM all_pairs
        WHERE unique_id_l IN (SELECT unique_id FROM rewritten)
          AND unique_id_r IN (SELECT unique_id FROM rewritten);
    """)


def _previous_map(warehouse: duckdb.DuckDBPyConnection, work: duckdb.DuckDBPyConnection) -> int:
    """prev_map: the old persons of the rewritten records and of records gone (gone_records);
    returns the highest id ever issued."""
    keys = work.sql("SELECT source, record_id FROM rewritten_records").to_arrow_table()
    with registered(warehouse, "_keys", keys):
        prev = warehouse.sql("""
            SELECT m.source, m.record_id, m.person_id, m.match_probability
            FROM core.person_map AS m JOIN _keys USING (source, record_id)
        """).to_arrow_table()
    removed = work.sql("""   -- records that left raw.* and were not sent again
        SELECT source, record_id FROM removed_records
        ANTI JOIN arrived_records USING (source, record_id)
    """).to_arrow_table()
    with registered(warehouse, "_removed", removed):
        gone = warehouse.sql("""
            SELECT m.source, m.record_id, m.person_id
            FROM core.person_map AS m JOIN _removed USING (source, record_id)
        """).to_arrow_table()
    for name, arrow in (("prev_rows", prev), ("gone_records", gone)):
        with registered(work, "_prev_in", arrow):
            work.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _prev_in")
    work.execute("""
        CREATE OR REPLACE TABLE prev_map AS
        SELECT source, record_id, person_id FROM prev_rows
        UNION ALL SELECT source, record_id, person_id FROM gone_records
    """)
    return stable_ids.highest_issued_id(warehouse)


def _write_core(warehouse: duckdb.DuckDBPyConnection,
                work: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Inside the warehouse transaction: the rows of core.person_map and core.crossings
    that differ from the warehouse's (a new record or version, a record whose person or
    probability moved) and the rewritten persons' rows of core.persons are replaced;
    records gone leave. Most rewritten persons only gained a crossing: their other rows
    stand, so the cost follows the new month rather than the persons' whole histories."""
    work.execute("""
        CREATE OR REPLACE TABLE written_map AS   -- person_map rows that differ
        SELECT o.* FROM out_person_map AS o
        LEFT JOIN prev_rows AS p USING (source, record_id)
        LEFT JOIN new_records AS n USING (source, record_id)
        WHERE p.record_id IS NULL OR n.record_id IS NOT NULL
           OR p.person_id <> o.person_id
           OR p.match_probability IS DISTINCT FROM o.match_probability;

        CREATE OR REPLACE TABLE written_crossings AS
        SELECT c.* FROM out_crossings AS c
        WHERE c.record_id IN (SELECT record_id FROM written_map
                              WHERE source = 'border_crossings');
    """)
    removed = work.sql("""
        SELECT source, record_id FROM written_map
        UNION SELECT source, record_id FROM gone_records
    """).to_arrow_table()
    old_persons = work.sql("""
        SELECT person_id FROM prev_map UNION SELECT person_id FROM out_persons
    """).to_arrow_table()
    counts = {}
    with registered(warehouse, "_removed", removed), \
            registered(warehouse, "_old_persons", old_persons):
        warehouse.execute("""
            DELETE FROM core.person_map AS m USING _removed AS r
            WHERE m.source = r.source AND m.record_id = r.record_id;
            DELETE FROM core.crossings WHERE record_id IN
                (SELECT record_id FROM _removed WHERE source = 'border_crossings');
            DELETE FROM core.persons WHERE person_id IN (SELECT person_id FROM _old_persons);
        """)
    for table, rows in (("person_map", "written_map"), ("crossings", "written_crossings"),
                        ("persons", "out_persons")):
        arrow = work.sql(f"SELECT * FROM {rows}").to_arrow_table()
        with registered(warehouse, "_rows_in", arrow):
            warehouse.execute(f"INSERT INTO core.{table} BY NAME SELECT * FROM _rows_in")
        counts[f"core.{table} rewritten"] = arrow.num_rows
    return counts


def _save_incremental_state(work: duckdb.DuckDBPyConnection, paths: RunPaths, run_id: str,
                            state: LinkState, last_load: int, person_map_hash: str,
                            values_made: bool) -> None:
    """The rewritten profiles (as they are today: rebuilt, grown or the state's), their
    value counts, the new pairs and the touched records' profiles replace theirs (every
    profile's value counts when they were made for this run)."""
    profiles = work.sql(f"""
        SELECT {_base_columns(work, "profiles", "p.")},
               coalesce(rc.component_id, s.component_id) AS component_id,
               pc.cluster_id, pc.in_conflict,
               coalesce(pp.match_probability, 1.0) AS match_probability,
               cp.person_id, '{run_id}' AS run_id
        FROM profiles AS p
        JOIN profile_clusters AS pc USING (unique_id)
        JOIN cluster_person AS cp ON cp.cluster_id = pc.cluster_id
        LEFT JOIN region_components AS rc USING (unique_id)
        LEFT JOIN state_profiles AS s USING (unique_id)
        LEFT JOIN profile_probability AS pp USING (unique_id)
    """).to_arrow_table()
    dropped = work.sql("SELECT unique_id FROM rewritten UNION SELECT unique_id FROM gone"
                       ).to_arrow_table()
    ends = work.sql("SELECT unique_id FROM dropped_ends").to_arrow_table()
    pairs = work.sql(f"SELECT *, '{run_id}' AS run_id FROM new_pairs").to_arrow_table()
    records = work.sql("SELECT * FROM touched_map").to_arrow_table()
    dropped_records = work.sql("""
        SELECT source, record_id FROM removed_records
        UNION SELECT source, record_id FROM touched_map
    """).to_arrow_table()
    values = work.sql("SELECT * FROM profile_value_counts" + ("""
        UNION ALL SELECT * FROM state_values
        WHERE unique_id NOT IN (SELECT unique_id FROM rewritten)
          AND unique_id NOT IN (SELECT unique_id FROM gone)""" if values_made else "")
                      ).to_arrow_table()
    _detach_state(work)
    _write_state(paths, profiles, pairs, records, values,
                 (run_id, INCREMENTAL, last_load, person_map_hash, state.full_link_run_id,
                  state.full_link_data_end),
                 replace=False, dropped_profiles=dropped, dropped_pair_ends=ends,
                 dropped_records=dropped_records)


def _indicators(counts: dict[str, int], summary) -> list[tuple[str, float, str, str | None]]:  # noqa: ANN001
    events = summary.id_events
    return [
        ("link_mode", 1, "flag", "incremental: new records linked to the persons that exist"),
        ("records_new", counts["new_records"], "cases", "loaded since the last link run"),
        ("profiles", counts["profiles"], "profiles", "all sources"),
        ("profiles_touched", counts["touched"], "profiles",
         "holding a new record or version, or having lost one"),
        ("profiles_grown", counts["grown"], "profiles",
         "touched, gained only records agreeing with them: not rebuilt"),
        ("profiles_changed", counts["changed"], "profiles",
         "new, or compared attributes moved: scored against all others"),
        ("profiles_gone", counts["gone"], "profiles", "no record left"),
        ("pairs_scored_above_predict_threshold", summary.comparisons, "pairs",
         "changed profiles against the others and among themselves"),
        ("profiles_reclustered", counts["region_profiles"], "profiles",
         "components holding a changed or gone profile or reached by a new link"),
        ("persons_rewritten", counts["out_persons"], "persons",
         "persons of the re-clustered and touched profiles"),
        ("register_conflicts_split", summary.conflict_clusters, "clusters",
         "in the re-clustered region"),
    ] + [(f"person_ids_{event}", n, "persons", "in this run") for event, n in
         sorted(events.items())]
