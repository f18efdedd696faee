"""The publish stage on the real chain: sample -> ingest -> link -> estimate -> publish."""

import json
import shutil
import zipfile
from datetime import date

import duckdb
import numpy as np
import polars as pl
import pytest
from fixtures.publish import SAMPLE_LAST_COMPLETE_YEAR, publish_config

from regmig.errors import RegmigError
from regmig.flows.cli import main
from regmig.publish.disclosure.primary import primary_cells
from regmig.publish.disclosure.protect import ProtectedFamily
from regmig.publish.stage import publish
from regmig.publish.tables.eurostat import DATASETS
from regmig.warehouse.catalog import table_names
from regmig.warehouse.connection import open_warehouse
from regmig.warehouse.paths import RunPaths

YEAR = SAMPLE_LAST_COMPLETE_YEAR
IDENTIFIERS = {"person_id", "record_id", "person_key", "document_key", "given_name",
               "surname", "date_of_birth", "document_number", "person_pin", "event_id"}


def _release_tables(paths: RunPaths) -> dict[str, pl.DataFrame]:
    with duckdb.connect(str(paths.release / "release.duckdb"), read_only=True) as con:
        names = [r[0] for r in con.sql("SHOW TABLES").fetchall()]
        return {n: con.sql(f"SELECT * FROM {n}").pl() for n in names}


def test_release_holds_every_format_and_protected_tables_only(published_run):
    release = published_run.release
    assert (release / "metadata.json").is_file()
    assert {p.stem for p in (release / "sdmx").glob("*.csv")} == set(DATASETS)
    with zipfile.ZipFile(release / "questionnaires.xlsx") as book:
        assert any(n.startswith("xl/worksheets/") for n in book.namelist())
    tables = _release_tables(published_run)
    for name, frame in tables.items():
        assert not set(frame.columns) & IDENTIFIERS, name
    for csv in (release / "csv").glob("*.csv"):
        assert not set(pl.read_csv(csv, n_rows=1).columns) & IDENTIFIERS, csv.name
    with open_warehouse(published_run, read_only=True) as con:
        uncommented = con.sql(
            "SELECT table_name, column_name FROM duckdb_columns() WHERE (schema_name = "
            "'release' OR database_name = 'stats') AND (comment IS NULL OR comment = '')"
        ).fetchall()
        assert uncommented == []
        for table_id in DATASETS:
            stats = con.sql(f"SELECT * FROM stats.{table_id}").pl()
            released = tables[table_id]
            # Every small released cell (recounted here from the unprotected table) is
            # suppressed in the release, in the database and in the CSV alike.
            small = stats.filter(pl.col("released") & pl.col("value").is_between(1, 4))
            dims = released.columns[:released.columns.index("value")]
            shown = released.join(small.select(dims), on=dims)
            assert shown.height == small.height
            assert shown["value"].is_null().all() and (shown["obs_status"] == "c").all()
            csv = pl.read_csv(release / "csv" / f"{table_id}.csv",
                              schema_overrides={"value": pl.Int64})
            assert csv["value"].null_count() == released["value"].null_count()
        audit = con.sql("SELECT * FROM stats.disclosure_audit").pl()
        assert audit.height > 0 and audit["ok"].all()
        assert (audit["width"] >= 5).all()


def test_tables_count_what_the_warehouse_holds(published_run):
    with open_warehouse(published_run, read_only=True) as con:
        # The estimate stage's own stats tables survive a publish run.
        assert "stats.migration_totals" in table_names(con, ["stats"])
        expected = con.sql(
            "SELECT count(*) FROM derived.migration_events WHERE kind = 'immigration' "
            "AND year(event_date) = ? AND counted",
            params=[YEAR]).fetchall()[0][0]
        stock = con.sql("SELECT count(*) FROM derived.resident_stock WHERE ref_date = ?",
                        params=[date(YEAR, 1, 1)]).fetchall()[0][0]
        imm8 = con.sql("SELECT value FROM stats.migr_imm8 WHERE age = 'TOTAL' AND sex = 'T'"
                       ).fetchall()[0][0]
        un32 = con.sql("SELECT * FROM stats.un_3_2").pl()
        pop = con.sql("SELECT value FROM stats.migr_pop1ctz WHERE citizenship = 'TOTAL' "
                      "AND age = 'TOTAL' AND sex = 'T'").fetchall()[0][0]
    assert expected > 0 and imm8 == expected
    assert pop == stock
    cell = {(r["citizenship"], r["country_of_birth"]): r["value"]
            for r in un32.iter_rows(named=True)}
    # The questionnaire's identities: A = E + F, C = E + G, and the grand total.
    assert cell[("TOTAL", "NAT")] == cell[("NAT", "NAT")] + cell[("FOR", "NAT")] + cell[
        ("UNK", "NAT")]
    assert cell[("NAT", "TOTAL")] == cell[("NAT", "NAT")] + cell[("NAT", "FOR")] + cell[
        ("NAT", "UNK")]
    assert cell[("TOTAL", "TOTAL")] == expected


def test_immigration_is_close_to_the_synthetic_truth(published_run, sample_delivery):
    truth = pl.read_parquet(sample_delivery / "truth" / "migration_events.parquet")
    true_count = truth.filter((pl.col("kind") == "immigration")
                              & (pl.col("event_date").dt.year() == YEAR)).height
    with open_warehouse(published_run, read_only=True) as con:
        published = con.sql("SELECT value FROM stats.migr_imm8 WHERE age = 'TOTAL' "
                            "AND sex = 'T'").fetchall()[0][0]
    assert true_count > 0
    assert abs(published - true_count) <= 0.25 * true_count


def test_metadata_describes_every_table(published_run):
    meta = json.loads((published_run.release / "metadata.json").read_text())
    tables = {t["table_id"]: t for t in meta["tables"]}
    assert tables["un_3_4"]["available"] is False and "parents" in tables["un_3_4"][
        "definition"]
    assert "un_3_4" not in {p.stem for p in (published_run.release / "csv").glob("*.csv")}
    for table_id, t in tables.items():
        if not t["available"]:
            continue
        assert t["unit"] in ("persons", "cases"), table_id
        assert t["status"] in ("final", "provisional") and t["sources"], table_id
        assert t["reference"] and t["definition"], table_id
    assert tables["migr_imm1ctz"]["residence_rule"].startswith("12/16")
    assert tables["migr_pop1ctz"]["reference"] == f"{YEAR}-01-01"
    assert tables["iom3_entering_cases"]["unit"] == "cases"
    assert tables["iom3_entering_persons"]["unit"] == "persons"
    assert meta["release"]["year"] == YEAR


def test_sdmx_csv_uses_eurostat_codes_and_layout(published_run):
    from regmig.publish.sdmx import DIMENSIONS
    meta = {t["table_id"]: t for t in json.loads(
        (published_run.release / "metadata.json").read_text())["tables"]}
    for dataset, dims in DIMENSIONS.items():
        sdmx = pl.read_csv(published_run.release / "sdmx" / f"{dataset}.csv",
                           infer_schema=False)
        # Eurostat's own SDMX-CSV: DATAFLOW, LAST UPDATE, dimensions in the DSD's order
        # (lower case), TIME_PERIOD, OBS_VALUE, OBS_FLAG, CONF_STATUS.
        assert sdmx.columns == ["DATAFLOW", "LAST UPDATE", *dims, "TIME_PERIOD",
                                "OBS_VALUE", "OBS_FLAG", "CONF_STATUS"], dataset
        assert set(sdmx["DATAFLOW"]) == {f"ESTAT:{dataset.upper()}(1.0)"}
        assert set(sdmx["CONF_STATUS"].fill_null("")) <= {"", "C"}
        assert (sdmx["OBS_VALUE"].is_null() == (sdmx["CONF_STATUS"] == "C")).all()
        flags = set(sdmx["OBS_FLAG"].fill_null(""))
        assert flags == ({"p"} if meta[dataset]["status"] == "provisional" else {""})
    sdmx = pl.read_csv(published_run.release / "sdmx" / "migr_imm1ctz.csv",
                       infer_schema=False)
    assert set(sdmx["geo"]) == {"AM"} and set(sdmx["agedef"]) == {"COMPLET"}
    for dataset in ("migr_imm8", "migr_emi2"):   # Eurostat's have both age definitions
        both = pl.read_csv(published_run.release / "sdmx" / f"{dataset}.csv",
                           infer_schema=False)
        assert set(both["agedef"]) == {"COMPLET", "REACH"}
    assert {"TOTAL", "NAT", "FOR"} <= set(sdmx["citizen"])
    assert set(sdmx["age"]) <= {"TOTAL", "UNK", "Y_LT5", "Y_GE85"} | {
        f"Y{a}-{a + 4}" for a in range(5, 85, 5)}
    assert set(sdmx["sex"]) == {"T", "M", "F", "UNK"}


def _primary_only(family, config) -> ProtectedFamily:
    """A deliberately weak protector: primary suppression, no complementary cells."""
    primary = primary_cells(family, config)
    return ProtectedFamily(family, "suppression", primary, primary & family.released,
                           family.values.copy(), None, 0.0)


def test_a_failing_audit_writes_nothing(estimated_run, tmp_path):
    paths = RunPaths(tmp_path / "run")
    shutil.copytree(estimated_run.out, paths.out)
    with pytest.raises(RegmigError, match="disclosure audit failed.*no release was written"):
        publish(paths, publish_config(), "weak", YEAR, protector=_primary_only)
    assert not paths.release.exists()
    with open_warehouse(paths, read_only=True) as con:
        written = [t for t in table_names(con, ["stats", "release"])
                   if t.startswith(("release.", "stats.migr_", "stats.un_"))
                   or t in ("stats.information_loss", "stats.disclosure_audit")]
    assert written == []


def test_command_line_reports_a_year_without_data(published_run, capsys):
    assert main(["publish", "--out", str(published_run.out), "--year", "1990"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "outside the data" in err[0]


def test_information_loss_is_reported_per_table(published_run):
    with open_warehouse(published_run, read_only=True) as con:
        loss = con.sql("SELECT * FROM stats.information_loss").pl()
        released = con.sql("SELECT * FROM release.information_loss").pl()
    assert set(loss["table_id"]) == set(released["table_id"])
    assert (loss["cells_suppressed"] == loss["cells_primary"] + loss["cells_complementary"]
            ).all()
    assert loss["cells_suppressed"].sum() > 0
    assert not {"cells_primary", "units_suppressed"} & set(released.columns)
    assert np.all(loss["share_cells_suppressed"].to_numpy() <= 1.0)


def test_workbook_sheets_are_the_tables_with_numbers_letters_and_labels(published_run):
    """Sheet names are the table ids; values are numeric cells; the UN sheets carry the
    questionnaire letter in a column of its own; header panes are frozen; country codes
    have their names beside them."""
    import re
    meta = json.loads((published_run.release / "metadata.json").read_text())
    ids = [t["table_id"] for t in meta["tables"]]
    assert all(len(i) <= 31 for i in ids)
    with zipfile.ZipFile(published_run.release / "questionnaires.xlsx") as book:
        names = re.findall(r'<sheet name="([^"]+)"', book.read("xl/workbook.xml").decode())
        strings = book.read("xl/sharedStrings.xml").decode()
        sheets = {name: book.read(f"xl/worksheets/sheet{i}.xml").decode()
                  for i, name in enumerate(names, start=1)}
    assert names == ["Contents", *ids]
    for table_id in (i for i in ids if i != "un_3_4"):
        assert 'state="frozen"' in sheets[table_id], table_id
        # at least one numeric cell: a <c> without t="s" holding a <v>
        assert re.search(r'<c r="[A-Z]+\d+"(?: s="\d+")?><v>\d+</v>', sheets[table_id]), \
            table_id
    assert ">A<" in strings and ">letter<" in strings
    assert "Russian Federation" in strings or "Syrian Arab Republic" in strings
