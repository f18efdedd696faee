"""No identifier outside the restricted folder (issue 13, finding 8): a scan of everything a
run writes for analysts and the public (every column of every DuckDB database, every
release file, the reports) for the delivery's document numbers, personal ids, names and
exact dates of birth.

- Document numbers, personal ids and names: as whole values and as words of longer texts,
  case-insensitive; a value the delivery also holds in a non-identifying column (the
  region Ararat is also a given name) is no evidence and is left out.
- Dates of birth, record by record: no date of any warehouse row equals its record's own
  delivered date of birth, or the true date of birth of the person the record belongs to
  (the sample's truth): a registration at birth would otherwise give the date of birth
  away next to the year and month. In files, no date of birth as text (those inside the
  data's own span are left out: the reports show months and reference dates of that span,
  and a person born then is a baby whose date is no more exposed than any other day).
"""

from __future__ import annotations

import importlib.util
import re
import zipfile
from pathlib import Path

import duckdb
import polars as pl

from regmig.schemas.deliveries import IDENTIFYING_COLUMNS

SOURCES = ("border_crossings", "population_register", "permits")
#: Shortest identifying word looked for in files: shorter ones are words of any text.
SHORTEST_WORD = 4
WORDS = re.compile(rb"[\w-]+")
#: Software whose own words are in what a run writes (regmig's settings and labels,
#: Splink's charts, the workbook writer's theme): a name that is also one of their words
#: ("Mark", "Roman", "Seed") is no evidence of a leak where they wrote it. (Not synth/ or
#: linkage/, whose name lists hold the sample's names.)
SOFTWARE = ("regmig.flows", "regmig.publish", "regmig.schemas", "regmig.warehouse",
            "splink", "xlsxwriter", "jinja2")
SOFTWARE_SUFFIXES = (".py", ".js", ".json", ".html", ".xml", ".j2", ".css", ".toml", ".md")


def secrets_of(sample: Path) -> tuple[set[str], set[str]]:
    """(identifying texts other than dates, delivered dates of birth) of the delivery."""
    identifying, other, births = set(), set(), set()
    for source in SOURCES:
        frame = pl.read_csv(sample / f"{source}.csv", infer_schema=False)
        for column in frame.columns:
            values = {v.strip().lower() for v in frame[column].drop_nulls().to_list()}
            if column == "date_of_birth":
                births |= values
            elif column in IDENTIFYING_COLUMNS[source]:
                identifying |= values | {w for v in values for w in re.split(r"[^\w-]+", v)}
            else:
                other |= values
    return {s for s in identifying - other if s}, births


def software_words() -> set[str]:
    """Every word of the text files of `SOFTWARE`, lower case."""
    words: set[bytes] = set()
    for name in SOFTWARE:
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.submodule_search_locations, name
        for folder in spec.submodule_search_locations:
            for path in Path(folder).rglob("*"):
                if path.suffix in SOFTWARE_SUFFIXES and path.is_file() \
                        and not {"tests", "data"} & set(path.parts):
                    words |= {w.lower() for w in WORDS.findall(path.read_bytes())}
    return {w.decode(errors="replace") for w in words}


def databases(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("*.duckdb") if "restricted" not in p.parts)


def test_no_identifier_in_any_column_release_file_or_report(pipeline_run, sample_delivery):
    out = pipeline_run.out_dir
    identifying, births = secrets_of(sample_delivery)
    assert len(identifying) > 10_000 and len(births) > 3_000
    common = identifying & software_words()
    assert len(common) < 0.02 * len(identifying), sorted(common)  # the scan keeps its teeth
    identifying -= common
    # Dates of birth are checked record by record below: another person's birthday is an
    # ordinary day in any date column.
    secrets = pl.DataFrame({"secret": sorted(identifying)})
    leaks = []
    scanned = 0
    for database in databases(out):
        with duckdb.connect(str(database), read_only=True) as con:
            con.register("secrets", secrets)
            for catalog, schema, table, column in con.sql(
                    "SELECT database_name, schema_name, table_name, column_name "
                    "FROM duckdb_columns() WHERE NOT internal AND table_name <> 'secrets'"
                    ).fetchall():
                scanned += 1
                found = con.sql(f"""
                    WITH texts AS (SELECT lower(CAST("{column}" AS VARCHAR)) AS text
                                   FROM "{catalog}"."{schema}"."{table}"
                                   WHERE "{column}" IS NOT NULL),
                         words AS (SELECT text FROM texts UNION ALL
                                   SELECT unnest(regexp_split_to_array(text, '[^\\w-]+'))
                                   FROM texts)
                    SELECT count(*) FROM words JOIN secrets ON words.text = secrets.secret
                """).fetchall()[0][0]
                if found:
                    leaks.append(f"{database.name} {schema}.{table}.{column}: {found}")
    assert scanned > 100, scanned
    files = [p for p in out.rglob("*") if p.is_file() and "restricted" not in p.parts
             and p.suffix in (".csv", ".json", ".html", ".xlsx", ".toml", ".txt")]
    assert any(p.suffix == ".xlsx" for p in files) and (out / "report.html") in files, files
    span = pl.read_csv(sample_delivery / "border_crossings.csv", infer_schema=False)[
        "crossed_at"].str.slice(0, 10)
    first, last = span.min(), span.max()
    file_secrets = {s.encode() for s in identifying if len(s) >= SHORTEST_WORD} | {
        b.encode() for b in births if not first <= b <= last}
    for path in files:
        for name, data in texts_of(path):
            words = {w.lower() for w in WORDS.findall(data)}
            found = words & file_secrets
            if found:
                leaks.append(f"{path.relative_to(out)}{name}: {sorted(found)[:5]}")
    assert leaks == [], leaks


def texts_of(path: Path) -> list[tuple[str, bytes]]:
    """The file's bytes, or for a workbook the bytes of each part."""
    if path.suffix == ".xlsx":
        with zipfile.ZipFile(path) as workbook:
            return [(f":{n}", workbook.read(n)) for n in workbook.namelist()]
    return [("", path.read_bytes())]


def test_no_date_of_a_record_is_its_date_of_birth(pipeline_run, sample_delivery):
    truth = pl.read_parquet(sample_delivery / "truth" / "record_person.parquet").join(
        pl.read_parquet(sample_delivery / "truth" / "persons.parquet").select(
            "person_id", true_birth="date_of_birth"), on="person_id")
    checked = 0
    with duckdb.connect(str(pipeline_run.paths.warehouse), read_only=True) as con:
        for source in SOURCES:
            delivered = pl.read_csv(sample_delivery / f"{source}.csv", infer_schema=False
                                    ).select("record_id", own_birth=pl.col("date_of_birth")
                                             .str.to_date(strict=False))
            dates = [c for c, t in con.sql(
                "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = "
                "'raw' AND table_name = ?", params=[source]).fetchall()
                if t in ("DATE", "TIMESTAMP")]
            rows = con.sql(f"SELECT record_id, {', '.join(dates)} FROM raw.{source}").pl()
            rows = rows.join(delivered, on="record_id").join(
                truth.filter(pl.col("source") == source), on="record_id")
            for column in dates:
                day = pl.col(column).cast(pl.Date)
                same = rows.filter((day == pl.col("own_birth")) | (day == pl.col("true_birth")))
                assert same.height == 0, f"raw.{source}.{column}: {same.height} rows"
                checked += rows[column].drop_nulls().len()
        # every dated row of a person, in every schema: none on the person's birthday
        person_tables = con.sql("""
            SELECT c.schema_name, c.table_name, list(c.column_name)
            FROM duckdb_columns() AS c
            WHERE c.schema_name IN ('core', 'derived') AND c.data_type IN ('DATE', 'TIMESTAMP')
              AND EXISTS (SELECT 1 FROM duckdb_columns() AS k WHERE k.column_name = 'person_id'
                          AND k.schema_name = c.schema_name AND k.table_name = c.table_name)
            GROUP BY ALL""").fetchall()
        births = con.sql("""SELECT m.person_id, m.source, m.record_id FROM core.person_map m"""
                         ).pl().join(truth.select("source", "record_id", "true_birth"),
                                     on=["source", "record_id"]).select(
            "person_id", "true_birth").unique()
        for schema, table, columns in person_tables:
            rows = con.sql(f"SELECT person_id, {', '.join(columns)} FROM {schema}.{table}").pl()
            rows = rows.join(births, on="person_id")
            for column in columns:
                same = rows.filter(pl.col(column).cast(pl.Date) == pl.col("true_birth"))
                assert same.height == 0, f"{schema}.{table}.{column}: {same.height} rows"
                checked += rows[column].drop_nulls().len()
    assert checked > 50_000
