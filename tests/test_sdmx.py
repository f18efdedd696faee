"""The release's SDMX-CSV files validated with pysdmx against the structures kept in
schemas/sdmx/ESTAT_MIGR.xml (Eurostat's dimensions and code lists, written once by
publish/sdmx_structures.py)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from pysdmx.io import read_sdmx
from pysdmx.model import DataStructureDefinition, Role


def validation_errors(release: Path, structures: Path) -> dict[str, list[str]]:
    """Per dataset, what its SDMX-CSV file breaks of its data structure definition."""
    message = read_sdmx(structures, validate=True)   # the XML is checked against SDMX's XSD
    dsds = {s.id: s for s in message.structures if isinstance(s, DataStructureDefinition)}
    errors: dict[str, list[str]] = {}
    for dataset, dsd in dsds.items():
        found = errors.setdefault(dataset.lower(), [])
        path = release / "sdmx" / f"{dataset.lower()}.csv"
        if not path.is_file():
            found.append("file missing")
            continue
        frame = pl.read_csv(path, infer_schema=False)
        components = list(dsd.components)
        order = ([c.id for c in components if c.role == Role.DIMENSION]
                 + [c.id for c in components if c.role == Role.MEASURE]
                 + [c.id for c in components if c.role == Role.ATTRIBUTE])
        if frame.columns != ["DATAFLOW", "LAST UPDATE", *order]:
            found.append(f"columns {frame.columns} != {order}")
            continue
        keys = [c.id for c in components if c.role == Role.DIMENSION]
        if frame.select(keys).is_duplicated().any():
            found.append("an observation appears twice")
        if set(frame["DATAFLOW"]) != {f"{dsd.agency}:{dsd.id}({dsd.version})"}:
            found.append(f"dataflow {set(frame['DATAFLOW'])}")
        for component in components:
            values = frame[component.id]
            # Every dimension has a code; a confidential OBS_VALUE is empty (checked below).
            if component.role == Role.DIMENSION and values.null_count():
                found.append(f"{component.id}: required, {values.null_count()} empty")
            if component.enumeration is not None:
                codes = {code.id for code in component.enumeration}
                bad = set(values.drop_nulls()) - codes
                if bad:
                    found.append(f"{component.id}: codes not in the code list {sorted(bad)}")
        counts = frame["OBS_VALUE"].drop_nulls()
        if not counts.str.contains(r"^\d+$").all():
            found.append("OBS_VALUE: not a count")
        hidden = frame["OBS_VALUE"].is_null()
        if not (hidden == (frame["CONF_STATUS"] == "C").fill_null(False)).all():
            found.append("a value is empty without CONF_STATUS C, or shown with it")
    return errors


def test_every_dataset_validates_against_eurostat_structures(published_run, repo_root):
    errors = validation_errors(published_run.release, repo_root / "schemas" / "sdmx"
                               / "ESTAT_MIGR.xml")
    assert len(errors) == 10
    assert all(not e for e in errors.values()), errors


def test_validation_catches_a_broken_file(published_run, repo_root, tmp_path):
    """The check can fail: a code outside the code list and a reordered column."""
    import shutil
    release = tmp_path / "release"
    shutil.copytree(published_run.release / "sdmx", release / "sdmx")
    path = release / "sdmx" / "migr_imm8.csv"
    frame = pl.read_csv(path, infer_schema=False)
    frame.with_columns(pl.lit("X9").alias("sex")).write_csv(path)
    path = release / "sdmx" / "migr_emi2.csv"
    frame = pl.read_csv(path, infer_schema=False)
    frame.select(frame.columns[::-1]).write_csv(path)
    # Both age definitions in one file: an AGEDEF lost would make observations twice.
    path = release / "sdmx" / "migr_emi1ctz.csv"
    frame = pl.read_csv(path, infer_schema=False)
    pl.concat([frame, frame.head(1)]).write_csv(path)
    errors = validation_errors(release, repo_root / "schemas" / "sdmx" / "ESTAT_MIGR.xml")
    assert any("sex" in e for e in errors["migr_imm8"])
    assert any("columns" in e for e in errors["migr_emi2"])
    assert "an observation appears twice" in errors["migr_emi1ctz"]
    assert not errors["migr_imm1ctz"]
