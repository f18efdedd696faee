"""`regmig classify` (docs/design.md §6): the published examples through the command line,
the same results as the stage's code path, and one-line errors naming file, row, column."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from test_residence_rule_published import EXAMPLES

from regmig.config import Config, ResidenceRule
from regmig.estimators.step2_rule.residence_rule import classify
from regmig.flows.cli import main

OUTPUT_COLUMNS = [
    "person_id", "crossing_date", "direction", "seq", "res_status_before",
    "res_status_after", "is_long_term_migration", "resolved", "date_finalised_ltm",
    "date_finalised_res_after", "imputed",
]


def _write_examples(folder: Path) -> tuple[Path, Path]:
    crossings, initial = folder / "crossings.csv", folder / "initial.csv"
    with open(crossings, "w", newline="") as c, open(initial, "w", newline="") as i:
        cw, iw = csv.writer(c), csv.writer(i)
        cw.writerow(["person_id", "crossing_date", "direction"])
        iw.writerow(["person_id", "res_status_initial", "date_initial"])
        for pid, (status, history, _) in enumerate(EXAMPLES.values(), start=1):
            iw.writerow([pid, status, history[0][0]])
            for day, direction in history:
                cw.writerow([pid, day, direction])
    return crossings, initial


def test_classify_reproduces_the_published_examples(tmp_path: Path, capsys) -> None:
    crossings, initial = _write_examples(tmp_path)
    out = tmp_path / "classified.csv"
    assert main(["classify", "--crossings", str(crossings), "--initial", str(initial),
                 "--out", str(out), "--data-end", "2030-01-01"]) == 0
    assert "long-term migrations" in capsys.readouterr().out
    result = pl.read_csv(out, try_parse_dates=True)
    assert result.columns == OUTPUT_COLUMNS
    for pid, (_, history, expected) in enumerate(EXAMPLES.values(), start=1):
        start = date.fromisoformat(history[0][0])
        rows = result.filter(pl.col("person_id") == pid).sort("seq")
        got = [(r["res_status_before"], r["res_status_after"], r["is_long_term_migration"],
                (r["date_finalised_res_after"] - start).days,
                (r["date_finalised_ltm"] - start).days) for r in rows.iter_rows(named=True)]
        assert got == [(b, a, ltm, ra, lt) for b, a, ltm, _, ra, lt in expected], pid
        assert rows["resolved"].to_list() == [1] * len(expected)


def test_classify_defaults_data_end_to_last_crossing_and_leaves_open_flags_empty(
    tmp_path: Path,
) -> None:
    crossings = tmp_path / "c.csv"
    crossings.write_text("person_id,crossing_date,direction\n"
                         "7,2024-01-01,arrival\n7,2024-03-01T10:00:00,departure\n"
                         "8,2024-06-01,arrival\n")
    out = tmp_path / "o.csv"
    assert main(["classify", "--crossings", str(crossings), "--out", str(out)]) == 0
    result = pl.read_csv(out, try_parse_dates=True).sort("person_id", "seq")
    # Person 7 arrived for 60 days and left 92 days before the data end (2024-06-01):
    # not yet more than W - V = 122 days out, so the arrival is still open.
    assert result["resolved"].to_list() == [0, 1, 0]
    assert result["is_long_term_migration"].to_list() == [None, 0, None]
    # Without --initial, the first crossing tells: an arrival -> non-resident before.
    assert result["res_status_before"].to_list() == [0, 0, 0]


def test_classify_rule_options_change_the_rule(tmp_path: Path) -> None:
    crossings = tmp_path / "c.csv"
    crossings.write_text("person_id,crossing_date,direction\n"
                         "1,2020-01-01,arrival\n1,2020-10-01,departure\n")
    results = {}
    for v, w in ((365, 487), (274, 365)):
        out = tmp_path / f"o{v}.csv"
        assert main(["classify", "--crossings", str(crossings), "--out", str(out),
                     "--threshold-days", str(v), "--window-days", str(w),
                     "--data-end", "2022-01-01"]) == 0
        results[v] = pl.read_csv(out)["is_long_term_migration"].to_list()
    # 274 days in: short of 12/16, enough for 9/12.
    assert results[365] == [0, 0]
    assert results[274] == [1, 1]


def test_classify_same_path_as_the_stage(sample_delivery: Path, tmp_path: Path) -> None:
    """The command's output equals the rule applied directly (the stage's function)."""
    truth = pl.read_parquet(sample_delivery / "truth" / "crossing_status.parquet").filter(
        pl.col("person_id") <= 400).select("person_id", "crossing_date", "direction", "seq")
    crossings = tmp_path / "truth_crossings.csv"
    truth.drop("seq").write_csv(crossings)
    out = tmp_path / "o.csv"
    assert main(["classify", "--crossings", str(crossings), "--out", str(out)]) == 0
    cli = pl.read_csv(out, try_parse_dates=True).sort("person_id", "seq")
    first = truth.filter(pl.col("seq") == 1).select(
        "person_id", res_status_initial=(pl.col("direction") == "departure").cast(pl.Int8))
    direct = classify(truth, first, ResidenceRule(), truth["crossing_date"].max()).sort(
        "person_id", "seq")
    assert cli["is_long_term_migration"].to_list() == direct["is_long_term_migration"].cast(
        pl.Int64).to_list()
    assert cli["date_finalised_ltm"].to_list() == direct["date_finalised_ltm"].to_list()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("person_id,crossing_date,direction\n1,2020-01-01,arrival\n1,2020-13-01,departure\n",
         "row 2, column crossing_date: '2020-13-01' is not an ISO date"),
        ("person_id,crossing_date,direction\n1,2020-13-01,arrival\n1,2021-01-01,departure\n",
         "row 1, column crossing_date: '2020-13-01' is not an ISO date"),
        ("person_id,crossing_date,direction\n1,2020-01-01,in\n",
         "row 1, column direction: 'in' is not arrival or departure"),
        ("person_id,crossing_date,direction\n1,2020-01-01,arrival\n,2020-02-01,departure\n",
         "row 2, column person_id:"),
        ("person,crossing_date,direction\n1,2020-01-01,arrival\n",
         "column person_id: column missing"),
    ],
)
def test_bad_input_is_one_line_naming_row_and_column(
    tmp_path: Path, capsys, content: str, message: str
) -> None:
    crossings = tmp_path / "bad.csv"
    crossings.write_text(content)
    assert main(["classify", "--crossings", str(crossings), "--out",
                 str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and str(crossings) in err and message in err
    assert not (tmp_path / "o.csv").exists()


def test_imputed_crossings_are_written_and_marked(tmp_path: Path, capsys) -> None:
    """Two arrivals in a row: the departure the repair adds between them is written, in
    its place, marked imputed; the recorded crossings keep their rows."""
    crossings = tmp_path / "c.csv"
    crossings.write_text("person_id,crossing_date,direction\n"
                         "1,2020-01-01,arrival\n1,2020-03-01,departure\n"
                         "1,2020-03-20,arrival\n1,2020-09-01,arrival\n"
                         "2,2020-02-01,arrival\n")
    out = tmp_path / "o.csv"
    assert main(["classify", "--crossings", str(crossings), "--out", str(out)]) == 0
    assert "1 crossings imputed" in capsys.readouterr().out
    result = pl.read_csv(out, try_parse_dates=True).sort("person_id", "seq")
    person = result.filter(pl.col("person_id") == 1)
    assert person["direction"].to_list() == ["arrival", "departure", "arrival", "departure",
                                             "arrival"]
    assert person["imputed"].to_list() == [0, 0, 0, 1, 0]
    assert date(2020, 3, 20) < person["crossing_date"][3] < date(2020, 9, 1)
    assert result.filter(pl.col("imputed") == 0).height == 5


def test_every_bad_row_is_reported_up_to_a_limit(tmp_path: Path, capsys) -> None:
    rows = ["person_id,crossing_date,direction", "1,2020-01-01,arrival",
            "1,2020-02-30,departure", ",2020-03-01,arrival", "2,2020-01-01,out"]
    rows += [f"{3 + k},2020-01-0x,arrival" for k in range(30)]
    crossings = tmp_path / "bad.csv"
    crossings.write_text("\n".join(rows) + "\n")
    assert main(["classify", "--crossings", str(crossings), "--out",
                 str(tmp_path / "o.csv")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    shown = Config().estimate.classify_errors_shown
    assert len(lines) == shown + 1
    assert all(str(crossings) in line for line in lines)
    assert "row 2, column crossing_date: '2020-02-30' is not an ISO date" in lines[0]
    assert "row 3, column person_id: '' is empty" in lines[1]
    assert "row 4, column direction: 'out' is not arrival or departure" in lines[2]
    assert lines[-1].endswith(f"{33 - shown} more bad rows not shown (33 in all)")
    assert not (tmp_path / "o.csv").exists()


def test_bad_initial_file_and_options(tmp_path: Path, capsys) -> None:
    crossings, _ = _write_examples(tmp_path)
    initial = tmp_path / "bad_initial.csv"
    initial.write_text("person_id,res_status_initial,date_initial\n1,yes,2017-01-01\n")
    out = str(tmp_path / "o.csv")
    assert main(["classify", "--crossings", str(crossings), "--initial", str(initial),
                 "--out", out]) == 2
    assert "row 1, column res_status_initial" in capsys.readouterr().err
    assert main(["classify", "--crossings", str(crossings), "--out", out,
                 "--threshold-days", "500", "--window-days", "487"]) == 2
    assert "threshold" in capsys.readouterr().err
    assert main(["classify", "--crossings", str(crossings), "--out", out,
                 "--data-end", "2017-02-01"]) == 2
    assert "is after --data-end" in capsys.readouterr().err
    assert main(["classify", "--crossings", str(tmp_path / "missing.csv"), "--out", out]) == 2
    assert "file not found" in capsys.readouterr().err
