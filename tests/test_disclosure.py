"""Disclosure control on hand-made tables whose answers are worked out by hand.

Every pattern is audited the way publish audits it: written as release files, then
attacked by the outsider's audit (publish/audit), which reads only those files.
"""

import dataclasses
from datetime import date

import numpy as np
import polars as pl
import pytest

from regmig.config import Config, DisclosureConfig
from regmig.errors import RegmigError
from regmig.publish import export
from regmig.publish.audit.verdict import audit_release, require_protected
from regmig.publish.disclosure.family import TableCells, build_family
from regmig.publish.disclosure.primary import primary_cells, primary_mask
from regmig.publish.disclosure.protect import ProtectedFamily, protect
from regmig.publish.disclosure.rounding import random_round
from regmig.publish.stage import assemble, protection, release_header
from regmig.publish.tables.cube import Dimension, TableSpec
from regmig.publish.tables.populations import Reference

CONFIG = DisclosureConfig(solver_time_limit=5.0)


def _audit(tmp_path, tables, protected: ProtectedFamily, config: DisclosureConfig = CONFIG):
    """Write the protected tables as a release and audit the files."""
    full = dataclasses.replace(Config(), disclosure=config)
    ref = Reference(2024, date(2024, 1, 1))
    result = assemble(tables, {"f": protected}, full, ref, {})
    staging, _ = export.stage_release(tmp_path / f"release{len(list(tmp_path.iterdir()))}",
                                      result.release, [], release_header(full, ref, "t"),
                                      result.release_loss)
    truth = {t: c.drop("released") for t, c in result.unprotected.items()}
    return audit_release(staging, truth, protection(config))


def _with_pattern(family, suppressed) -> ProtectedFamily:
    primary = primary_cells(family, CONFIG)
    return ProtectedFamily(family, "suppression", primary, suppressed & family.released,
                           family.values.copy(), None, 0.0)


def _dim(name: str, codes: tuple[str, ...], total: str = "TOTAL") -> Dimension:
    return Dimension(name, (total, *codes), ((total, codes),), label=name)


def _table(table_id: str, dims: tuple[Dimension, ...], inner: dict[tuple, int],
           population: str = "pop", unit: str = "persons", bounded_by: str | None = None
           ) -> TableCells:
    """All cells of a table with margins, from its inner cells."""
    rows = []
    grid = [[]]
    for dim in dims:
        grid = [g + [c] for g in grid for c in dim.codes]
    for cell in grid:
        value = sum(v for key, v in inner.items()
                    if all(c == d.codes[0] or c == k
                           for c, k, d in zip(cell, key, dims, strict=True)))
        rows.append((*cell, value, True))
    frame = pl.DataFrame(rows, schema=[d.name for d in dims] + ["value", "released"],
                         orient="row")
    spec = TableSpec(table_id, table_id, population, unit, dims, bounded_by=bounded_by)
    return TableCells(spec, frame)


def _keys(family, mask) -> set[str]:
    return set(family.cells.filter(pl.Series(mask))["key"].to_list())


ROWS = _dim("row", ("r1", "r2", "r3"))
COLS = _dim("col", ("c1", "c2", "c3"))
#: r1c1 = 2 is the only small cell. The cheapest rectangle through it (cost value + 1)
#: is r1c2 (10), r2c1 (8), r2c2 (30): 51, against 53 via r3 and 71 via c3.
INNER_3X3 = {("r1", "c1"): 2, ("r1", "c2"): 10, ("r1", "c3"): 20,
             ("r2", "c1"): 8, ("r2", "c2"): 30, ("r2", "c3"): 40,
             ("r3", "c1"): 15, ("r3", "c2"): 25, ("r3", "c3"): 50}


def test_primary_rule_and_zeros():
    values = np.array([0, 1, 4, 5, 100], dtype=float)
    assert primary_mask(values, CONFIG).tolist() == [False, True, True, False, False]
    zeros = dataclasses.replace(CONFIG, zeros_disclosive=True)
    assert primary_mask(values, zeros).tolist() == [True, True, True, False, False]
    ten = dataclasses.replace(CONFIG, threshold=10)
    assert primary_mask(values, ten).tolist() == [False, True, True, True, False]


def test_3x3_one_primary_forces_the_cheapest_rectangle(tmp_path):
    tables = [_table("t", (ROWS, COLS), INNER_3X3)]
    family = build_family("f", tables)
    assert family.n_relations == 8  # 4 row sums + 4 column sums, margins included
    protected = protect(family, CONFIG)
    assert _keys(family, protected.primary) == {"persons|pop|col=c1;row=r1;"}
    assert _keys(family, protected.suppressed & ~protected.primary) == {
        "persons|pop|col=c2;row=r1;", "persons|pop|col=c1;row=r2;",
        "persons|pop|col=c2;row=r2;",
    }
    report = _audit(tmp_path, tables, protected)
    assert report.passed
    # By hand: r1c1 + r1c2 = 12 and r1c1 + r2c1 = 10 (published margins), r2c2 = 38 - r2c1.
    row = report.findings.row(0, named=True)
    assert (row["lower"], row["upper"]) == (0.0, 10.0)


def test_audit_fails_closed_on_a_weak_pattern(tmp_path):
    tables = [_table("t", (ROWS, COLS), INNER_3X3)]
    family = build_family("f", tables)
    primary = primary_cells(family, CONFIG)
    # Weak: suppress r1c1 and r1c2 only; column c1 still gives r1c1 = 25 - 8 - 15.
    weak = primary | np.isin(family.cells["key"].to_numpy(), ["persons|pop|col=c2;row=r1;"])
    report = _audit(tmp_path, tables, _with_pattern(family, weak))
    assert not report.passed
    failure = report.failures.row(0, named=True)
    assert failure["lower"] == failure["upper"] == 2.0
    with pytest.raises(RegmigError, match=r"col=c1;row=r1.*no release was written"):
        require_protected(report)


SEX = _dim("sex", ("M", "F"), total="T")
CIT = _dim("citizenship", ("NAT", "FOR"))
#: Table A (sex) is the citizenship=TOTAL margin of table B (citizenship x sex).
INNER_B = {("M", "NAT"): 1, ("M", "FOR"): 2, ("F", "NAT"): 20, ("F", "FOR"): 20}


def test_tables_sharing_a_margin_are_protected_together(tmp_path):
    a = _table("a", (SEX,), {("M",): 3, ("F",): 40})
    b = _table("b", (SEX, CIT), INNER_B)
    family = build_family("f", [a, b])
    assert family.n_cells == 9  # A's three cells are B's citizenship=TOTAL column
    protected = protect(family, CONFIG)
    assert _keys(family, protected.primary) == {
        "persons|pop|sex=M;", "persons|pop|citizenship=NAT;sex=M;",
        "persons|pop|citizenship=FOR;sex=M;",
    }
    # By hand: M (3) needs F (40) or T (43) to move with it, and F moves only if its
    # citizenship parts do; the cheapest is F/NAT + F/FOR + F (21 + 21 + 41 = 83) against
    # T (44) + T/NAT or T/FOR (22, 23) + F/NAT + F/FOR (21 + 21) = 108.
    assert _keys(family, protected.suppressed & ~protected.primary) == {
        "persons|pop|citizenship=NAT;sex=F;", "persons|pop|citizenship=FOR;sex=F;",
        "persons|pop|sex=F;",
    }
    assert _audit(tmp_path, [a, b], protected).passed
    # Protecting B alone is not enough once A is published in full: A gives M = 43 - 40.
    alone = build_family("b", [b])
    pattern = protect(alone, CONFIG)
    suppressed = set(alone.cells.filter(pl.Series(pattern.suppressed))["key"].to_list())
    union_suppressed = np.isin(family.cells["key"].to_numpy(), list(suppressed))
    union_suppressed &= ~np.isin(family.cells["key"].to_numpy(), ["persons|pop|sex=F;",
                                                                    "persons|pop|sex=M;"])
    union_suppressed |= np.isin(family.cells["key"].to_numpy(), ["persons|pop|sex=M;"])
    report = _audit(tmp_path, [a, b], _with_pattern(family, union_suppressed))
    assert not report.passed


def test_persons_are_bounded_by_cases(tmp_path):
    kind = _dim("kind", ("first", "extension"))
    cases = _table("cases", (kind,), {("first",): 30, ("extension",): 3}, unit="cases")
    persons = _table("persons", (kind,), {("first",): 28, ("extension",): 3},
                     bounded_by="cases")
    family = build_family("f", [cases, persons])
    slack = family.cells.filter(pl.col("key").str.starts_with("slack|"))
    assert sorted(slack["value"].to_list()) == [0, 2, 2]  # cases - persons per cell
    assert not slack["sensitive"].any() and not slack["released"].any()
    protected = protect(family, CONFIG)
    assert _audit(tmp_path, [cases, persons], protected).passed


def test_rounding_is_repeatable_and_audited(tmp_path):
    values = np.arange(0, 40, dtype=float)
    config = dataclasses.replace(CONFIG, method="rounding", rounding_base=5)
    rounded = random_round(values, "f", config)
    assert (np.mod(rounded, 5) == 0).all()
    assert (np.abs(rounded - values) < 5).all()
    assert np.array_equal(rounded, random_round(values, "f", config))
    tables = [_table("t", (ROWS, COLS), INNER_3X3)]
    family = build_family("f", tables)
    protected = protect(family, config)
    assert not protected.suppressed.any()
    assert (np.mod(protected.shown, 5) == 0).all()
    report = _audit(tmp_path, tables, protected, config)
    assert report.findings.height == 1 and report.findings["width"][0] >= 5
    # Base 3 leaves a rounded cell within +-2: too narrow for threshold 5, so it fails.
    base3 = dataclasses.replace(config, rounding_base=3)
    narrow = _audit(tmp_path, tables, protect(family, base3), base3)
    assert not narrow.passed


def test_protected_family_never_publishes_a_primary_cell():
    family = build_family("f", [_table("t", (ROWS, COLS), INNER_3X3)])
    protected: ProtectedFamily = protect(family, CONFIG)
    assert (protected.suppressed[protected.primary & family.released]).all()


def test_one_unit_on_its_path_gets_a_complement(tmp_path):
    """The migr_acq case: a single person, every cell on its path 1 and the rest 0.
    Suppressing the path alone leaves its cells forced equal (so all 1 .. 4)."""
    tables = [_table("t", (SEX, CIT), {("F", "FOR"): 1, ("M", "NAT"): 0})]
    family = build_family("f", tables)
    primary = primary_cells(family, CONFIG)
    bare = _audit(tmp_path, tables, _with_pattern(family, primary))
    assert set(bare.failures["finding"]) == {"pattern: confidential cells forced equal"}
    protected = protect(family, CONFIG)
    complements = protected.suppressed & ~protected.primary
    assert complements.any()
    report = _audit(tmp_path, tables, protected)
    assert report.passed, report.failures


@pytest.mark.parametrize("limit", [0.0, CONFIG.solver_time_limit])
def test_a_lone_unit_in_a_grid_gets_a_path_as_complement(tmp_path, limit):
    """One person in a 3 x 3 grid, every other inner cell 0: the path r1c1, r1, c1, total
    is all 1. No single zero frees itself (its other margin is a published 0), so the
    complement is a zero with a path that moves it: r1c2 up with c2's margin (r1 and the
    total are suppressed already), 2 cells; not the whole grid withheld (16 cells), with
    the optimiser or without (limit 0, the heuristic alone)."""
    tables = [_table("t", (ROWS, COLS), {("r1", "c1"): 1, ("r3", "c3"): 0})]
    family = build_family("f", tables)
    config = dataclasses.replace(CONFIG, solver_time_limit=limit)
    protected = protect(family, config)
    assert protected.primary.sum() == 4
    assert protected.withheld == 0
    complements = protected.suppressed & ~protected.primary
    assert complements.sum() == 2 and (family.values[complements] == 0).all()
    report = _audit(tmp_path, tables, protected, config)
    assert report.passed, report.failures


def test_a_category_of_a_persons_table_is_bounded_by_its_total(tmp_path):
    """A person with cases in two categories counts once in the total: each part <= total
    <= sum of parts. Refused 2 (F), granted 45, total 46: suppressing refused and total
    alone lets refused = total - granted + overlap be pinned by part <= total."""
    decision = Dimension("decision", ("TOTAL", "granted", "refused"),
                         (("TOTAL", ("granted", "refused")),), additive=False, label="d")
    frame = pl.DataFrame(
        [("TOTAL", 46, True), ("granted", 45, True), ("refused", 2, True)],
        schema=["decision", "value", "released"], orient="row")
    spec = TableSpec("p", "p", "pop", "persons", (decision,))
    tables = [TableCells(spec, frame)]
    family = build_family("f", tables)
    assert family.cells.filter(pl.col("key").str.starts_with("slack|")).height == 3
    primary = primary_cells(family, CONFIG)
    # Refused alone suppressed: refused <= total = 46 and total <= granted + refused give
    # refused in [1, 46]: wide, but a lone suppressed cell is primary by the pattern.
    lone = _audit(tmp_path, tables, _with_pattern(family, primary))
    assert not lone.passed
    protected = protect(family, CONFIG)
    assert _audit(tmp_path, tables, protected).passed


def test_the_iom_convention_protects_the_threshold_itself(tmp_path):
    """IOM's "up to 5" (threshold_inclusive) with its asterisk: a 5 is primary, and
    every interval must be at least 6 wide; the release shows "*" for it."""
    iom = dataclasses.replace(CONFIG, threshold_inclusive=True, symbol="*")
    assert primary_mask(np.array([4.0, 5.0, 6.0]), iom).tolist() == [True, True, False]
    assert iom.protection_width == 6
    inner = dict(INNER_3X3) | {("r1", "c1"): 5}
    tables = [_table("t", (ROWS, COLS), inner)]
    family = build_family("f", tables)
    protected = protect(family, iom)
    assert protected.primary.sum() == 1
    report = _audit(tmp_path, tables, protected, iom)
    assert report.passed and (report.findings["width"] >= 6).all()
    release = sorted(tmp_path.iterdir())[-1]
    shown = pl.read_csv(release / "csv" / "t.csv", infer_schema=False)
    assert set(shown["obs_status"]) == {"", "*"}
    # Under the default rule the 5 is published: nothing to protect.
    assert not primary_cells(family, CONFIG).any()


def test_families_and_their_warm_starts_on_two_workers_match_one_worker():
    """Scheduling the single tables' warm starts and the families on a process pool
    changes nothing of the patterns: the same tasks with the same inputs as one by one."""
    from regmig.publish.stage import protect_tables

    tables = [_table("a", (SEX,), {("M",): 3, ("F",): 40}),
              _table("b", (SEX, CIT), INNER_B),
              _table("grid", (ROWS, COLS), INNER_3X3, population="other")]
    serial = protect_tables(tables, dataclasses.replace(CONFIG, workers=1))
    pooled = protect_tables(tables, dataclasses.replace(CONFIG, workers=2))
    assert set(serial) == set(pooled) == {"pop", "other"}
    for name, family in serial.items():
        assert family.suppressed.any()
        assert np.array_equal(family.suppressed, pooled[name].suppressed)
        assert np.array_equal(family.primary, pooled[name].primary)
