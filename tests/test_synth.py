"""The synthetic population: contracts of its files, determinism, and a truth that agrees
with itself and with the deliveries."""

import datetime as dt
import filecmp
import json
from pathlib import Path

import polars as pl
import pycountry
import pytest

from regmig.config import SynthConfig
from regmig.flows.cli import main
from regmig.synth.generate import generate

SOURCES = ("border_crossings", "population_register", "permits")

# docs/design.md §3, written out here independently of the generator.
COLUMNS = {
    "border_crossings": [
        "record_id", "crossed_at", "direction", "border_point", "transport_mode",
        "document_type", "document_number", "document_country", "citizenship", "sex",
        "date_of_birth", "given_name", "surname", "country_of_birth", "country_of_residence",
        "origin_destination", "travel_purpose"],
    "population_register": [
        "record_id", "person_pin", "given_name", "surname", "sex", "date_of_birth",
        "country_of_birth", "citizenship", "second_citizenship", "registered_from",
        "deregistered_on", "deregistration_reason", "document_number", "document_country",
        "region"],
    "permits": [
        "record_id", "permit_id", "permit_type", "application_kind", "application_date",
        "decision", "decision_date", "valid_from", "valid_to", "document_number",
        "document_country", "given_name", "surname", "sex", "date_of_birth", "citizenship",
        "country_of_birth"],
}
REQUIRED = {
    "border_crossings": ["record_id", "crossed_at", "direction", "document_number",
                         "document_country"],
    "population_register": ["record_id", "person_pin", "registered_from"],
    "permits": ["record_id", "permit_id", "permit_type"],
}
DOMAINS = {
    "direction": {"arrival", "departure"},
    "transport_mode": {"air", "land", "rail", "sea", "other"},
    "sex": {"M", "F"},
    "deregistration_reason": {"emigration", "death", "administrative", "other"},
    "permit_type": {"work", "study", "family", "humanitarian", "asylum", "other"},
    "application_kind": {"first", "extension", "renewal", "appeal"},
    "decision": {"granted", "refused", "pending"},
}
COUNTRY_COLUMNS = {"document_country", "citizenship", "second_citizenship",
                   "country_of_birth", "country_of_residence", "origin_destination"}
DATE_COLUMNS = {"date_of_birth", "registered_from", "deregistered_on", "application_date",
                "decision_date", "valid_from", "valid_to"}
ISO_ALPHA3 = {c.alpha_3 for c in pycountry.countries}


def read_delivery(folder: Path, source: str) -> pl.DataFrame:
    return pl.read_csv(folder / f"{source}.csv", infer_schema=False)


def read_truth(folder: Path, name: str) -> pl.DataFrame:
    return pl.read_parquet(folder / "truth" / f"{name}.parquet")


@pytest.fixture(params=["sample_delivery", "small_delivery", "zero_noise_delivery"])
def delivery(request: pytest.FixtureRequest) -> Path:
    return request.getfixturevalue(request.param)


@pytest.mark.parametrize("source", SOURCES)
def test_delivery_files_follow_the_contract(delivery: Path, source: str):
    frame = read_delivery(delivery, source)
    assert frame.columns == COLUMNS[source]
    assert frame.height > 0
    for column in REQUIRED[source]:
        assert frame[column].null_count() == 0, column
    assert frame["record_id"].n_unique() == frame.height
    params = json.loads((delivery / "truth" / "parameters.json").read_text())
    start, end = dt.date.fromisoformat(params["data_start"]), dt.date.fromisoformat(
        params["data_end"])
    for column in frame.columns:
        values = frame[column].drop_nulls()
        if column in DOMAINS:
            assert set(values.unique()) <= DOMAINS[column], column
        if column in COUNTRY_COLUMNS:
            assert set(values.unique()) <= ISO_ALPHA3, column
        if column in DATE_COLUMNS:
            parsed = values.str.to_date("%Y-%m-%d", strict=True)
            assert parsed.null_count() == 0, column
    if source == "border_crossings":
        at = frame["crossed_at"].str.to_datetime("%Y-%m-%dT%H:%M:%S", strict=True)
        assert at.dt.date().min() >= start and at.dt.date().max() <= end
    if source == "permits":
        applied = frame["application_date"].str.to_date("%Y-%m-%d")
        assert applied.min() >= start and applied.max() <= end
    if source == "population_register":
        registered = frame["registered_from"].str.to_date("%Y-%m-%d")
        assert registered.max() <= end
        left = frame["deregistered_on"].str.to_date("%Y-%m-%d").drop_nulls()
        assert left.min() >= start and left.max() <= end


def test_sample_is_committed_small_and_from_the_documented_command(sample_delivery: Path):
    size = sum(f.stat().st_size for f in sample_delivery.rglob("*") if f.is_file())
    assert size < 10 * 1024 * 1024
    params = json.loads((sample_delivery / "truth" / "parameters.json").read_text())
    assert params["synth_config"]["persons"] == 5000
    assert params["synth_config"]["seed"] == 1
    assert (params["data_start"], params["data_end"]) == ("2022-01-01", "2024-12-31")
    assert params["country"] == "ARM"


def test_same_seed_gives_identical_files_and_another_seed_does_not(tmp_path: Path):
    config = SynthConfig(persons=600, seed=7)
    generate(config, tmp_path / "a")
    generate(config, tmp_path / "b")
    generate(SynthConfig(persons=600, seed=8), tmp_path / "c")
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*")
                   if p.is_file())
    assert len(files) == 3 + 8
    for name in files:
        assert filecmp.cmp(tmp_path / "a" / name, tmp_path / "b" / name, shallow=False), name
    assert not filecmp.cmp(tmp_path / "a" / "border_crossings.csv",
                           tmp_path / "c" / "border_crossings.csv", shallow=False)


def test_command_line_writes_parquet_deliveries(tmp_path: Path, capsys):
    code = main(["synth", "--persons", "300", "--out", str(tmp_path), "--seed", "3",
                 "--start", "2023", "--end", "2023", "--format", "parquet"])
    assert code == 0
    assert "border_crossings" in capsys.readouterr().out
    for source in SOURCES:
        frame = pl.read_parquet(tmp_path / f"{source}.parquet")
        assert frame.columns == COLUMNS[source]
    params = json.loads((tmp_path / "truth" / "parameters.json").read_text())
    assert params["data_end"] == "2023-12-31"


@pytest.mark.parametrize("argv, message", [
    (["synth", "--persons", "0", "--out", "x"], "--persons"),
    (["synth", "--persons", "5", "--out", "x", "--start", "2024", "--end", "2022"], "--end"),
    (["synth", "--persons", "5", "--out", "x", "--noise-scale", "-1"], "--noise-scale"),
])
def test_command_line_mistakes_are_one_line(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_every_record_has_exactly_one_true_person(delivery: Path):
    record_person = read_truth(delivery, "record_person")
    persons = read_truth(delivery, "persons")
    for source in SOURCES:
        ids = read_delivery(delivery, source)["record_id"]
        mapped = record_person.filter(pl.col("source") == source)
        assert mapped["record_id"].n_unique() == mapped.height
        assert set(mapped["record_id"]) == set(ids)
    assert set(record_person["person_id"]) <= set(persons["person_id"])


def test_true_crossings_match_the_recorded_ones(delivery: Path):
    truth = read_truth(delivery, "crossings")
    recorded = truth.filter("recorded")
    assert recorded["record_id"].null_count() == 0
    assert truth.filter(~pl.col("recorded"))["record_id"].null_count() == truth.filter(
        ~pl.col("recorded")).height
    border = read_delivery(delivery, "border_crossings").select(
        "record_id", pl.col("crossed_at").str.slice(0, 10).str.to_date().alias("day"),
        "direction", "document_country")
    joined = recorded.join(border, on="record_id", how="full")
    assert joined.height == border.height == recorded.height
    assert (joined["day"] == joined["crossing_date"]).all()
    assert (joined["direction"] == joined["direction_right"]).all()
    assert (joined["document_country"] == joined["document_country_right"]).all()
    # true person of each record agrees between record_person and crossings
    rp = read_truth(delivery, "record_person").filter(pl.col("source") == "border_crossings")
    both = recorded.join(rp, on="record_id")
    assert (both["person_id"] == both["person_id_right"]).all()


def test_every_person_alternates_and_starts_from_the_initial_side(delivery: Path):
    crossings = read_truth(delivery, "crossing_status").sort("person_id", "seq")
    initial = read_truth(delivery, "initial_residence")
    firsts = crossings.filter(pl.col("seq") == 1).join(initial, on="person_id")
    # residents at the start are at home, everyone else abroad (observation design)
    expected_first = pl.when(pl.col("res_status_initial") == 1).then(pl.lit("departure")) \
        .otherwise(pl.lit("arrival"))
    assert firsts.select((pl.col("direction") == expected_first).all()).item()
    assert (firsts["res_status_before"] == firsts["res_status_initial"]).all()
    alternates = crossings.with_columns(
        prev=pl.col("direction").shift(1).over("person_id"),
        prev_after=pl.col("res_status_after").shift(1).over("person_id"))
    later = alternates.filter(pl.col("seq") > 1)
    assert (later["direction"] != later["prev"]).all()
    assert (later["res_status_before"] == later["prev_after"]).all()
    flips = crossings["res_status_before"] != crossings["res_status_after"]
    assert (flips == crossings["is_long_term_migration"]).all()


def test_register_holds_only_residents_at_the_start(delivery: Path):
    start = dt.date(2022, 1, 1)
    register = read_delivery(delivery, "population_register").with_columns(
        pl.col("registered_from").str.to_date(), pl.col("deregistered_on").str.to_date())
    on_start = register.filter((pl.col("registered_from") <= start) & (
        pl.col("deregistered_on").is_null() | (pl.col("deregistered_on") > start)))
    rp = read_truth(delivery, "record_person").filter(pl.col("source") == "population_register")
    initial = read_truth(delivery, "initial_residence")
    status = on_start.join(rp, on="record_id").join(initial, on="person_id")
    assert status.height == on_start.height > 0
    assert (status["res_status_initial"] == 1).all()
    # and every resident at the start is in the register then
    residents = initial.filter((pl.col("res_status_initial") == 1)
                               & (pl.col("date_initial") == start))
    assert set(residents["person_id"]) == set(status["person_id"])


def test_migration_events_are_the_long_term_crossings(delivery: Path):
    status = read_truth(delivery, "crossing_status").filter("is_long_term_migration")
    events = read_truth(delivery, "migration_events")
    assert events.height == status.height > 0
    joined = events.join(status, left_on=["person_id", "event_date"],
                         right_on=["person_id", "crossing_date"])
    assert joined.height == events.height
    kind = pl.when(pl.col("direction") == "arrival").then(pl.lit("immigration")) \
        .otherwise(pl.lit("emigration"))
    assert joined.select((pl.col("kind") == kind).all()).item()
    assert (joined["decided_by_data_end"] == joined["decided_by_data_end_right"]).all()
    persons = read_truth(delivery, "persons")
    with_person = events.join(persons, on="person_id")
    assert (with_person["sex"] == with_person["sex_right"]).all()
    age = (pl.col("event_date").dt.year() - pl.col("date_of_birth").dt.year()
           - ((pl.col("event_date").dt.month() < pl.col("date_of_birth").dt.month())
              | ((pl.col("event_date").dt.month() == pl.col("date_of_birth").dt.month())
                 & (pl.col("event_date").dt.day() < pl.col("date_of_birth").dt.day()))
              ).cast(pl.Int64))
    assert (with_person.select(age)["event_date"] == with_person["age"]).all()


def test_stock_follows_statuses_births_and_deaths(delivery: Path):
    stock = read_truth(delivery, "stock")
    status = read_truth(delivery, "crossing_status")
    initial = read_truth(delivery, "initial_residence")
    persons = read_truth(delivery, "persons")
    refs = sorted(stock["ref_date"].unique())
    assert refs == [dt.date(y, 1, 1) for y in (2022, 2023, 2024, 2025)]
    for ref in refs:
        last = (status.filter(pl.col("crossing_date") < ref).sort("person_id", "seq")
                .group_by("person_id").last().select("person_id", "res_status_after"))
        expected = (initial.join(last, on="person_id", how="left")
                    .join(persons, on="person_id")
                    .with_columns(pl.coalesce("res_status_after", "res_status_initial")
                                  .alias("status"))
                    .filter((pl.col("status") == 1)
                            & (pl.col("born_on").is_null() | (pl.col("born_on") < ref))
                            & (pl.col("died_on").is_null() | (pl.col("died_on") >= ref))))
        got = stock.filter(pl.col("ref_date") == ref)
        assert set(got["person_id"]) == set(expected["person_id"])


def test_zero_noise_delivery_records_everything_exactly(zero_noise_delivery: Path):
    truth = read_truth(zero_noise_delivery, "crossings")
    assert truth["recorded"].all()
    persons = read_truth(zero_noise_delivery, "persons")
    rp = read_truth(zero_noise_delivery, "record_person")
    for source in SOURCES:
        frame = read_delivery(zero_noise_delivery, source).join(
            rp.filter(pl.col("source") == source), on="record_id").join(persons,
                                                                       on="person_id")
        assert (frame["sex"] == frame["sex_right"]).all()
        dob = frame["date_of_birth"].str.to_date()
        has_dob = frame["date_of_birth_right"].is_not_null()
        assert (dob.filter(has_dob) == frame["date_of_birth_right"].filter(has_dob)).all()
        assert frame["given_name"].null_count() == 0
    border = read_delivery(zero_noise_delivery, "border_crossings")
    assert (border["citizenship"] == border["document_country"]).all()


def test_register_ends_entries_of_the_dead_on_the_day_of_death(delivery: Path):
    register = read_delivery(delivery, "population_register").filter(
        pl.col("deregistration_reason") == "death")
    rp = read_truth(delivery, "record_person").filter(pl.col("source") == "population_register")
    persons = read_truth(delivery, "persons")
    dead = register.join(rp, on="record_id").join(persons, on="person_id")
    assert dead.height > 0
    assert (dead["deregistered_on"].str.to_date() == dead["died_on"]).all()
    # and nobody crosses after dying
    crossings = read_truth(delivery, "crossings").join(persons, on="person_id")
    assert crossings.filter(pl.col("crossing_date") >= pl.col("died_on")).height == 0
