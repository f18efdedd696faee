"""The outsider's attack on whole releases: the sample's and two other synthetic ones.

The audit (publish/audit) reads only release/csv and release/metadata.json; the true
counts come from the restricted stats.* tables. Every primary cell must keep an integer
interval at least the protection width wide, and no pattern may give cells away.
"""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from fixtures.publish import SAMPLE_LAST_COMPLETE_YEAR, publish_config

from regmig.publish.audit.verdict import audit_release
from regmig.publish.stage import protection
from regmig.warehouse.connection import open_warehouse


def _truth(paths) -> dict[str, pl.DataFrame]:
    """Every table's true counts, from the restricted stats.* tables publish wrote."""
    meta = json.loads((paths.release / "metadata.json").read_text())
    con = open_warehouse(paths)
    try:
        return {t["table_id"]: con.sql(f"SELECT * FROM stats.{t['table_id']}").pl().select(
                    *[d["name"] for d in t["dimensions"]], "value")
                for t in meta["tables"] if t["available"]}
    finally:
        con.close()


def _attack(paths) -> pl.DataFrame:
    meta = json.loads((paths.release / "metadata.json").read_text())
    # The tables by age reached are in the release, their relation stated for the attack.
    assert any(r["kind"] == "age_reached" for t in meta["tables"] for r in t.get("rules", []))
    report = audit_release(paths.release, _truth(paths), protection(publish_config().disclosure))
    assert report.findings.height > 0  # there are primary cells to attack
    return report.failures


def test_the_audit_reads_nothing_of_the_protector(repo_root: Path):
    for path in (repo_root / "publish" / "audit").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith(("regmig.publish.disclosure",
                                                   "regmig.publish.tables")), path


def test_the_sample_release_withstands_the_attack(published_run):
    failures = _attack(published_run)
    assert failures.height == 0, failures


@pytest.mark.slow
@pytest.mark.parametrize("seed", [31, 32])
def test_other_synthetic_releases_withstand_the_attack(seed, tmp_path):
    from regmig.config import Config, SynthConfig
    from regmig.estimators.stage import estimate
    from regmig.ingest.stage import ingest_folder
    from regmig.linkage.stage import link
    from regmig.publish.stage import publish
    from regmig.synth.generate import generate
    from regmig.warehouse.paths import RunPaths
    from regmig.warehouse.runs import run_recorded_stage

    delivery = tmp_path / "delivery"
    generate(SynthConfig(persons=2_000, seed=seed, start_year=2022, end_year=2024), delivery)
    shutil.rmtree(delivery / "truth")
    paths = RunPaths(tmp_path / "run")
    config = Config()
    ingest_folder(paths, config, delivery, f"ingest-{seed}")
    link(paths, config, f"link-{seed}")
    run_recorded_stage(paths, "estimate", {}, lambda run_id: estimate(paths, config, run_id))
    run_recorded_stage(paths, "publish", {"year": SAMPLE_LAST_COMPLETE_YEAR},
                       lambda run_id: publish(paths, publish_config(), run_id,
                                              SAMPLE_LAST_COMPLETE_YEAR))
    failures = _attack(paths)
    assert failures.height == 0, failures
