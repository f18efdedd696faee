"""The pseudonymisation key (issue 13, finding 6): weak keys are refused, and a warehouse
refuses a run under a key other than the one it was built with."""

from __future__ import annotations

import secrets
import shutil

import duckdb
import pytest

from regmig.config import Config, IngestConfig
from regmig.errors import RegmigError
from regmig.flows.cli import main
from regmig.ingest.pseudonyms import (
    FINGERPRINT_LABEL,
    create_key_file,
    estimated_entropy_bits,
    key_fingerprint,
    load_key,
)
from regmig.ingest.stage import ingest_file
from regmig.warehouse.paths import RunPaths

OTHER_KEY = "another-key-Zq8Lr2Xw9Nf4Kc7Ts1Vb6Hd3Jm5Gp0Ye"


@pytest.mark.parametrize("weak", [" " * 40, "a" * 32, "abcd" * 8,
                                  "0123456789abcdef0123456789abcdef", "tiny-key"])
def test_weak_keys_are_refused(monkeypatch, weak):
    monkeypatch.setenv("REGMIG_PSEUDONYM_KEY", weak)
    with pytest.raises(RegmigError) as refused:
        load_key(IngestConfig())
    message = str(refused.value)
    assert "\n" not in message and ("too weak" in message or "shorter than" in message)
    assert weak.strip() == "" or weak not in message  # the key is never echoed


def test_random_keys_and_the_demo_key_pass(monkeypatch, tmp_path):
    monkeypatch.delenv("REGMIG_PSEUDONYM_KEY")
    key_file = create_key_file(tmp_path / "demo" / "pseudonym.key")
    assert estimated_entropy_bits(load_key(IngestConfig(pseudonym_key_file=key_file))) > 200
    for key in (secrets.token_hex(16), secrets.token_urlsafe(32), OTHER_KEY):
        monkeypatch.setenv("REGMIG_PSEUDONYM_KEY", key)
        assert load_key(IngestConfig()) == key.encode()


def test_fingerprint_is_stored_at_first_load_and_is_not_the_key(sample_delivery, tmp_path):
    paths = RunPaths(tmp_path / "run")
    ingest_file(paths, Config(), "permits", sample_delivery / "permits.csv", "first")
    key = load_key(IngestConfig())
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        rows = con.sql("SELECT fingerprint, label, run_id FROM meta.pseudonym_key").fetchall()
        texts = con.sql("SELECT * FROM meta.pseudonym_key").fetchall()
    assert rows == [(key_fingerprint(key), FINGERPRINT_LABEL.decode(), "first")]
    assert key.decode() not in repr(texts)


def test_a_later_run_under_another_key_is_refused_in_one_line(sample_delivery, tmp_path,
                                                               monkeypatch, capsys):
    out = tmp_path / "run"
    delivery = tmp_path / "delivery"
    delivery.mkdir()
    shutil.copy(sample_delivery / "permits.csv", delivery)
    assert main(["ingest", "--input", str(delivery), "--out", str(out)]) == 0
    capsys.readouterr()
    with duckdb.connect(str(out / "warehouse.duckdb"), read_only=True) as con:
        before = con.sql("SELECT count(*), max(loaded_at) FROM meta.loads").fetchall()
        runs = con.sql("SELECT count(*) FROM meta.runs").fetchall()

    monkeypatch.setenv("REGMIG_PSEUDONYM_KEY", OTHER_KEY)
    shutil.copy(sample_delivery / "border_crossings.csv", delivery)
    for argv in (["ingest", "--input", str(delivery), "--out", str(out)],
                 ["run", "--input", str(delivery), "--out", str(out)]):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "not the one this warehouse was built with" in err[0], err
    with duckdb.connect(str(out / "warehouse.duckdb"), read_only=True) as con:
        assert con.sql("SELECT count(*), max(loaded_at) FROM meta.loads").fetchall() == before
        assert con.sql("SELECT count(*) FROM meta.runs").fetchall() == runs

    monkeypatch.setenv("REGMIG_PSEUDONYM_KEY", OTHER_KEY)
    # the stage function itself refuses too (a caller that skipped the early checks)
    with pytest.raises(RegmigError, match="not the one this warehouse was built with"):
        ingest_file(RunPaths(out), Config(), "border_crossings",
                    delivery / "border_crossings.csv", "late")
