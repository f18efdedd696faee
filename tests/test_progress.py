"""Progress inside long stages: the stages tell their steps through the warehouse layer's
hook (`warehouse.progress`), the command line shows them with rich on a terminal and
stays quiet elsewhere."""

from __future__ import annotations

import io
import shutil

from regmig.warehouse import progress
from regmig.warehouse.timing import Timer

#: Families of fewer cells than this are protected in well under a second each.
SMALL_FAMILY_CELLS = 1_000


def _recording() -> tuple[list[progress.Step], progress.Watcher]:
    told: list[progress.Step] = []
    return told, told.append


def test_timed_steps_are_told_from_start_to_finish():
    told, watcher = _recording()
    timer = Timer()
    with progress.watching(watcher):
        with timer.step("rule"):
            for _ in progress.counted("persons", range(3)):
                pass
    assert [(s.name, s.done, s.total, s.finished) for s in told] == [
        ("rule", 0, None, False),
        ("persons", 0, 3, False), ("persons", 1, 3, False), ("persons", 2, 3, False),
        ("persons", 3, 3, False), ("persons", 3, 3, True),
        ("rule", 0, None, True),
    ]
    assert set(timer.timings) == {"rule"}
    with timer.step("unwatched"):
        pass
    assert len(told) == 7


def test_publish_tells_each_table_family(estimated_run, tmp_path):
    """Publish's protection of the estimated sample's table families (the real tables and
    protection; the three largest families left out, they take a minute): each family is
    counted as it is protected."""
    from datetime import date

    from fixtures.publish import SAMPLE_LAST_COMPLETE_YEAR, publish_config

    from regmig.publish.disclosure.family import TableCells, families
    from regmig.publish.stage import Reference, all_specs, protect_tables
    from regmig.publish.tables.cube import tabulate
    from regmig.publish.tables.populations import build_populations
    from regmig.warehouse.connection import open_warehouse
    from regmig.warehouse.paths import RunPaths
    from regmig.warehouse.sql_engines import sql_engine

    paths = RunPaths(tmp_path / "run")
    shutil.copytree(estimated_run.out, paths.out)
    config = publish_config()
    con = open_warehouse(paths)
    try:
        year = SAMPLE_LAST_COMPLETE_YEAR
        sql = sql_engine(config, con, paths)
        build_populations(sql, config, Reference(year, date(year, 1, 1)))
        tables = [TableCells(spec, tabulate(sql, spec)) for spec in all_specs(sql, config)]
    finally:
        con.close()
    grouped = {name: members for name, members in families(tables).items()
               if sum(t.cells.height for t in members) < SMALL_FAMILY_CELLS}
    small = [t for members in grouped.values() for t in members]
    small_families = set(grouped)
    assert len(small_families) >= 5
    told, watcher = _recording()
    with progress.watching(watcher):
        protected = protect_tables(small, config.disclosure)
    counted = [s for s in told if s.name == "protect table families"]
    assert [s.done for s in counted] == [*range(len(small_families) + 1), len(small_families)]
    assert {s.total for s in counted} == {len(small_families)} and counted[-1].finished
    assert set(protected) == small_families


def test_display_draws_steps_on_a_terminal_and_nothing_elsewhere():
    from rich.console import Console

    from regmig.flows.progress_display import progress_display

    for terminal in (True, False):
        out = io.StringIO()
        console = Console(file=out, force_terminal=terminal, width=100)
        with progress_display("[4/4] publish", console=console):
            with Timer().step("protect_and_audit"):
                for _ in progress.counted("protect table families", range(4)):
                    console.file.flush()
        shown = out.getvalue()
        if terminal:
            assert "[4/4] publish" in shown and "protect table families" in shown
            assert "4/4" in shown
        else:
            assert shown == ""
