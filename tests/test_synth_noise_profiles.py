"""The two noise profiles of `regmig synth`: `default` still makes data/sample/ byte for
byte; `hard` carries every kind of error it documents, at its documented rates."""

import filecmp
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from regmig.config import HardNoise, SynthConfig
from regmig.flows.cli import main
from regmig.synth.generate import build
from regmig.synth.noise import HARD_FIELDS


def test_default_profile_still_makes_the_sample_byte_for_byte(
    sample_delivery: Path, tmp_path: Path, capsys
) -> None:
    assert main(["synth", "--persons", "5000", "--seed", "1", "--noise", "default",
                 "--out", str(tmp_path)]) == 0
    files = sorted(p.relative_to(sample_delivery) for p in sample_delivery.rglob("*")
                   if p.is_file())
    assert len(files) == 3 + 8
    for name in files:
        assert filecmp.cmp(sample_delivery / name, tmp_path / name, shallow=False), name


@pytest.fixture(scope="module")
def hard():
    return build(SynthConfig(persons=4000, seed=3, noise_profile="hard"))


def test_hard_profile_hits_records_at_its_documented_rates(hard) -> None:
    rates = HardNoise()
    register = hard.deliveries["population_register"]
    crossings = hard.deliveries["border_crossings"]
    for kind in HARD_FIELDS + ("typo", "name_swap", "dob_missing", "transliteration"):
        flags = np.concatenate([register.flags[kind], crossings.flags[kind]])
        # some kinds cannot hit every record (no equivalent for a name, no document, no
        # pattern to confuse): they may fall short of the rate, never exceed it by much
        assert flags.mean() <= getattr(rates, kind) * 1.3 + 0.002, kind
        assert flags.mean() >= getattr(rates, kind) * 0.3, kind
    assert np.concatenate([register.flags["dob_missing"],
                           crossings.flags["dob_missing"]]).mean() >= 0.10


def test_hard_profile_writes_every_script_and_other_names(hard) -> None:
    names = pl.concat([d.frame.select("given_name", "surname")
                       for d in hard.deliveries.values()])
    text = pl.concat([names["given_name"], names["surname"]]).drop_nulls()
    for script, pattern in (("Armenian", r"\p{Armenian}"), ("Georgian", r"\p{Georgian}"),
                            ("Cyrillic", r"\p{Cyrillic}")):
        assert text.str.contains(pattern).sum() > 50, script
    given = set(names["given_name"].drop_nulls())
    assert {"Sasha", "Masha", "Ivan"} & given
    frame = hard.deliveries["population_register"].frame
    dob = frame["date_of_birth"].drop_nulls()
    assert (dob.dt.day() == 1).mean() > 0.05  # defaults pile up on the 1st


def test_hard_profile_is_a_command_line_choice(tmp_path: Path, capsys) -> None:
    assert main(["synth", "--persons", "200", "--seed", "2", "--noise", "hard",
                 "--out", str(tmp_path)]) == 0
    import json

    params = json.loads((tmp_path / "truth" / "parameters.json").read_text())
    assert params["synth_config"]["noise_profile"] == "hard"
    assert params["noise_rates_applied"]["permits"]["nickname"] == HardNoise().nickname
