"""The same delivery under two pseudonymisation keys gives the same persons and flows.

Pseudonyms differ with the key, so nothing the link stage samples, orders or names may
rest on them (profile ids come from record ids; see linkage/profiles.py)."""

import dataclasses
from pathlib import Path

import duckdb
import pytest

from regmig.config import Config
from regmig.estimators.stage import estimate
from regmig.ingest.stage import ingest_folder
from regmig.linkage.stage import link
from regmig.warehouse.paths import RunPaths


@pytest.mark.slow
def test_two_keys_give_the_same_persons_and_flows(
    estimated_run: RunPaths, sample_delivery: Path, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("REGMIG_TEST_SECOND_KEY", "another-key-for-the-same-delivery-42")
    config = Config()
    config = dataclasses.replace(config, ingest=dataclasses.replace(
        config.ingest, pseudonym_key_env="REGMIG_TEST_SECOND_KEY"))
    other = RunPaths(tmp_path / "run")
    ingest_folder(other, config, sample_delivery, "second-key-ingest")
    link(other, config, "second-key-link")
    estimate(other, config, "second-key-estimate")

    con = duckdb.connect()
    con.execute(f"ATTACH '{estimated_run.warehouse}' AS a (READ_ONLY)")
    con.execute(f"ATTACH '{other.warehouse}' AS b (READ_ONLY)")
    # the keys really differ: no document pseudonym is shared
    shared = con.sql("SELECT count(*) FROM a.raw.border_crossings "
                     "JOIN b.raw.border_crossings USING (document_key)").fetchall()[0][0]
    assert shared == 0
    mapped, different = con.sql("""
        SELECT count(*), count(*) FILTER (WHERE a.person_id <> b.person_id)
        FROM a.core.person_map AS a JOIN b.core.person_map AS b USING (source, record_id)
    """).fetchall()[0]
    assert mapped == con.sql("SELECT count(*) FROM a.core.person_map").fetchall()[0][0]
    assert different == 0
    events = "SELECT record_id, person_id, kind, status, round(probability, 9) AS p FROM {}"
    only_a = con.sql(f"{events.format('a.derived.migration_events')} EXCEPT ALL "
                     f"{events.format('b.derived.migration_events')}").fetchall()
    only_b = con.sql(f"{events.format('b.derived.migration_events')} EXCEPT ALL "
                     f"{events.format('a.derived.migration_events')}").fetchall()
    assert con.sql("SELECT count(*) FROM a.derived.migration_events").fetchall()[0][0] > 300
    assert (only_a, only_b) == ([], [])
    con.close()
