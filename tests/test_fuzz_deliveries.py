"""Fuzzing deliveries as an outsider would (issue 13): corrupt the files, run the real
command, check only what can be observed.

The fuzzer knows nothing of ingest's code. It takes rows of the sample delivery, applies
corruptions it chooses with a seeded random generator, remembers which row each one hit
and whether it breaks the delivery contract (docs/design.md §3), counts the records of
each file itself (physical lines after the header), runs `regmig ingest --input DIR`, and
then reads what anyone can read: the exit status, standard error, meta.loads,
raw.rejected and raw.<source>. It requires:
- no traceback, and standard error empty on success or one line on a refusal;
- no file lost: each file has its meta.loads row, loaded or refused;
- rows read = the fuzzer's own count of records = loaded + quarantined;
- every quarantined row named by file, row and (where the check has one) column;
- the quarantined rows are exactly the rows the fuzzer broke: nothing that breaks the
  contract is loaded as good, and nothing else is lost.

`test_fuzz_ci` runs a small seeded set; `test_fuzz_volume` (slow) at least 1,000
corruptions. A failure names the seed, so `FUZZ_SEEDS=...` reruns exactly that case.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

REGMIG = str(Path(sys.executable).parent / "regmig")
SOURCES = ("border_crossings", "population_register", "permits")
ROWS = 300

#: Columns the contract requires (docs/design.md §3).
REQUIRED = {
    "border_crossings": ("record_id", "crossed_at", "direction", "document_number",
                         "document_country"),
    "population_register": ("record_id", "person_pin", "registered_from"),
    "permits": ("record_id", "permit_id", "permit_type"),
}
#: Identifiers that must identify someone.
REQUIRED_IDENTIFIER = {"border_crossings": "document_number",
                       "population_register": "person_pin", "permits": "permit_id"}
REQUIRED_DATE = {"border_crossings": "crossed_at", "population_register": "registered_from"}
CODED = {
    "border_crossings": ("direction", "transport_mode", "sex", "document_country",
                         "citizenship"),
    "population_register": ("sex", "citizenship", "deregistration_reason"),
    "permits": ("permit_type", "decision", "sex", "citizenship"),
}
OPTIONAL_DATES = {
    "border_crossings": ("date_of_birth",),
    "population_register": ("date_of_birth", "deregistered_on"),
    "permits": ("date_of_birth", "application_date", "decision_date"),
}
PLACEHOLDERS = ("NULL", "N/A", "-", "0", "000000", "UNKNOWN", "none", "--/--", "  ", ".")
IMPLAUSIBLE = ("1700-01-01", "2999-12-31", "0001-01-01", "1899-12-31", "9999-01-01")
NOT_DATES = ("31/12/2023", "2023-02-30", "yesterday", "2023-13-01", "20230101")


@dataclass
class Line:
    """One line of the corrupted file: its bytes and whether the contract is broken."""

    text: bytes
    broken: bool = False
    kinds: list[str] = field(default_factory=list)


@dataclass
class Case:
    seed: int
    files: dict[str, bytes]
    #: Row numbers (1 = first record) the fuzzer broke, per source.
    broken: dict[str, set[int]]
    records: dict[str, int]
    corruptions: int
    refused: set[str] = field(default_factory=set)


def records_in(data: bytes) -> int:
    """The outsider's count: physical lines after the header (LF, CRLF or CR)."""
    lines = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
    if lines and lines[-1] == b"":
        lines = lines[:-1]
    return max(len(lines) - 1, 0)


def corrupt(source: str, clean: list[bytes], rng: random.Random, count: int
            ) -> tuple[bytes, set[int], int]:
    """`count` corruptions of distinct rows of one file."""
    header = clean[0].split(b",")
    col = {name.decode(): i for i, name in enumerate(header)}
    lines = [Line(text) for text in clean[1:]]
    applied = 0
    targets = rng.sample(range(len(lines)), count)
    inserts = []
    for index in targets:
        line = lines[index]
        cells = line.text.split(b",")
        kind = rng.choice(KINDS[source])

        def put(name: str, value: str | bytes, cells: list[bytes] = cells) -> None:
            cells[col[name]] = value if isinstance(value, bytes) else value.encode()

        def text(name: str, cells: list[bytes] = cells) -> str:
            return cells[col[name]].decode()

        breaks = True
        if kind == "identifier_nobody":
            put(REQUIRED_IDENTIFIER[source], rng.choice(PLACEHOLDERS))
        elif kind == "required_missing":
            put(rng.choice(REQUIRED[source]), "")
        elif kind == "implausible_date":
            put(REQUIRED_DATE[source], rng.choice(IMPLAUSIBLE))
        elif kind == "not_a_date":
            put(REQUIRED_DATE[source], rng.choice(NOT_DATES))
        elif kind == "unknown_code":
            put(rng.choice(CODED[source]), rng.choice(("XYZ", "sideways", "Q", "zz9")))
        elif kind == "inverted_register_spell":
            start = date.fromisoformat(text("registered_from"))
            put("deregistered_on", str(start - timedelta(days=rng.randint(1, 900))))
        elif kind == "nul_byte":
            name = rng.choice(list(col))
            put(name, cells[col[name]][:2] + b"\x00" + cells[col[name]][2:])
        elif kind == "stray_quote":
            position = rng.randrange(len(cells))
            cells[position] = b'"' + cells[position]
        elif kind == "extra_field":
            cells.insert(rng.randrange(len(cells)), b"x")
        elif kind == "missing_fields":
            cells = cells[: rng.randrange(1, len(cells))]
        elif kind == "blank_line":
            inserts.append((index, Line(b"", True, [kind])))
            applied += 1
            continue
        elif kind == "duplicate_record":
            inserts.append((index, Line(line.text, True, [kind])))
            applied += 1
            continue
        else:  # corruptions the contract allows: the row must load
            breaks = False
            if kind == "optional_document_placeholder":
                put("document_number", rng.choice(PLACEHOLDERS))
            elif kind == "inverted_permit_validity" and text("valid_from"):
                start = date.fromisoformat(text("valid_from"))
                put("valid_to", str(start - timedelta(days=rng.randint(1, 400))))
            elif kind == "bad_optional_date":
                put(rng.choice(OPTIONAL_DATES[source]), rng.choice(IMPLAUSIBLE + NOT_DATES))
            elif kind == "padding":
                name = rng.choice(list(col))
                put(name, b"  " + cells[col[name]] + b" ")
            elif kind == "code_case":
                name = rng.choice(CODED[source])
                put(name, text(name).swapcase())
        line.text = b",".join(cells)
        line.broken |= breaks
        line.kinds.append(kind)
        applied += 1
    for index, extra in sorted(inserts, key=lambda item: -item[0]):
        lines.insert(index + 1, extra)  # after its original: the copy is the second
    ending = rng.choice((b"\n", b"\r\n"))
    data = ending.join([clean[0]] + [line.text for line in lines])
    # Without a final line break a blank last line would not be there at all.
    if rng.random() < 0.7 or lines[-1].text == b"":
        data += ending
    broken = {number for number, line in enumerate(lines, start=1) if line.broken}
    return data, broken, applied


BREAKING = ["identifier_nobody", "required_missing", "unknown_code", "nul_byte",
            "stray_quote", "extra_field", "missing_fields", "blank_line", "duplicate_record"]
ALLOWED = ["bad_optional_date", "padding", "code_case"]
KINDS = {
    "border_crossings": BREAKING + ["implausible_date", "not_a_date"] + ALLOWED,
    "population_register": BREAKING + ["implausible_date", "not_a_date",
                                       "inverted_register_spell",
                                       "optional_document_placeholder"] + ALLOWED,
    "permits": BREAKING + ["inverted_permit_validity",
                           "optional_document_placeholder"] + ALLOWED,
}

#: Whole-file cases: (what, how the file is made from clean bytes, refused?).
FILE_CASES = [
    ("header only, no final newline", lambda clean: clean.split(b"\n")[0], False),
    ("header only", lambda clean: clean.split(b"\n")[0] + b"\n", False),
    ("byte-order mark", lambda clean: b"\xef\xbb\xbf" + clean, False),
    ("CR line ends", lambda clean: clean.replace(b"\n", b"\r"), False),
    ("empty file", lambda clean: b"", True),
    ("NUL in the header", lambda clean: b"rec\x00" + clean, True),
    ("UTF-16", lambda clean: clean.decode().encode("utf-16"), True),
    ("not UTF-8 deep in the file", lambda clean: clean[:-40] + b"\xff" + clean[-40:], True),
    ("required column missing", lambda clean: clean.replace(b"record_id,", b"", 1), True),
]


@pytest.fixture(scope="module")
def clean(sample_delivery) -> dict[str, list[bytes]]:
    return {source: (sample_delivery / f"{source}.csv").read_bytes().split(b"\n")[: ROWS + 1]
            for source in SOURCES}


def make_case(seed: int, clean: dict[str, list[bytes]], per_file: int) -> Case:
    rng = random.Random(seed)
    files, broken, records, applied = {}, {}, {}, {}
    for source in SOURCES:
        data, hit, applied[source] = corrupt(source, clean[source], rng, per_file)
        files[source], broken[source], records[source] = data, hit, records_in(data)
    case = Case(seed, files, broken, records, 0)
    if rng.random() < 0.5:  # one file spoiled as a whole, the others as above
        what, make, refused = FILE_CASES[seed % len(FILE_CASES)]
        source = rng.choice(SOURCES)
        data = make(b"\n".join(clean[source]) + b"\n")
        files[source], broken[source], records[source] = data, set(), records_in(data)
        applied[source] = 1
        if refused:
            case.refused.add(source)
    case.corruptions = sum(applied.values())
    return case


def run_case(case: Case, folder: Path) -> None:
    delivery = folder / "delivery"
    delivery.mkdir(parents=True)
    for source, data in case.files.items():
        (delivery / f"{source}.csv").write_bytes(data)
    out = folder / "run"
    done = subprocess.run([REGMIG, "ingest", "--input", str(delivery), "--out", str(out)],
                          capture_output=True, timeout=300)
    where = f"seed {case.seed}"
    stderr = done.stderr.decode(errors="replace")
    assert "Traceback" not in stderr, f"{where}: {stderr}"
    if case.refused:
        assert done.returncode == 2, f"{where}: {stderr}"
        assert len(stderr.strip().splitlines()) == 1 and stderr.startswith("regmig: error:")
    else:
        assert (done.returncode, stderr) == (0, ""), f"{where}: {stderr}"
    with duckdb.connect(str(out / "warehouse.duckdb"), read_only=True) as con:
        loads = {row[0]: row[1:] for row in con.sql(
            "SELECT source, status, rows_read, rows_loaded, rows_rejected, load_id "
            "FROM meta.loads").fetchall()}
        assert set(loads) == set(SOURCES), f"{where}: a file was lost: {loads}"
        for source in SOURCES:
            status, read, loaded, rejected, load_id = loads[source]
            if source in case.refused:
                assert (status, read) == ("refused", 0), f"{where} {source}"
                continue
            assert status == "loaded", f"{where} {source}"
            assert read == case.records[source] == loaded + rejected, \
                f"{where} {source}: read {read}, records {case.records[source]}, " \
                f"loaded {loaded} + quarantined {rejected}"
            quarantined = con.sql(
                "SELECT row_number, column_name, reason FROM raw.rejected WHERE load_id = ?",
                params=[load_id]).fetchall()
            for number, column, reason in quarantined:
                named = f"{source}.csv: row {number}" + (f", column {column}:" if column
                                                         else ":")
                assert reason.startswith(named), f"{where}: {reason!r}"
            numbers = {row[0] for row in quarantined}
            assert numbers == case.broken[source], \
                f"{where} {source}: loaded though broken " \
                f"{sorted(case.broken[source] - numbers)}, quarantined though allowed " \
                f"{sorted(numbers - case.broken[source])}"
            good = {row[0] for row in con.sql(
                f"SELECT row_number FROM raw.{source} WHERE load_id = ?",
                params=[load_id]).fetchall()}
            assert good | numbers == set(range(1, read + 1)) and not good & numbers


def seeds(default: range) -> list[int]:
    chosen = os.environ.get("FUZZ_SEEDS")
    return [int(s) for s in chosen.split(",")] if chosen else list(default)


def test_fuzz_ci(clean, tmp_path):
    """Four seeded cases, 12 corruptions per file, one spoiled file in some (over 100)."""
    total = 0
    for seed in seeds(range(4)):
        case = make_case(seed, clean, 12)
        run_case(case, tmp_path / f"seed-{seed}")
        total += case.corruptions
    assert total >= 100 or os.environ.get("FUZZ_SEEDS")


@pytest.mark.slow
def test_fuzz_volume(clean, tmp_path):
    """At least 1,000 corruptions: 15 cases, 30 per file, whole-file spoilers in some."""
    total = 0
    for seed in seeds(range(100, 115)):
        case = make_case(seed, clean, 30)
        run_case(case, tmp_path / f"seed-{seed}")
        total += case.corruptions
    assert total >= 1000 or os.environ.get("FUZZ_SEEDS")
