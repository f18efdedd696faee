"""Reading a delivery file (CSV or Parquet) in batches of text columns.

Every delivered value is read as text: a wrong type is then a failed check on one row
(validation.py), never a failed cast that loses a whole file. A file that cannot be read
at all is refused whole with a `RegmigError` naming the file and the cause: not CSV or
Parquet, not UTF-8, an unreadable or duplicated header, a required column missing.

CSV (UTF-8, comma, double quotes, header row) is read by pyarrow's streaming reader, one
block of `IngestConfig.csv_block_bytes` at a time, single-threaded so that a malformed line
(too many or too few fields, e.g. a stray delimiter or a truncated last line) comes with
its record number. Malformed lines are not lost: they come out of `read_batches` next to
the good rows and are quarantined whole.

Records are physical lines. No value of the delivery contract (codes, dates, identifiers,
names) holds a line break, so a quote that opens on a line and does not close on it is a
stray quote, not a value spanning lines: left to the CSV parser it would swallow every
line up to the next quote into one row. Each line is therefore checked for balanced
quotes (an even number of `"`) before the parser sees it (`_LineRecords`); a line that
fails is handed on as a malformed line of its own, so the rows after it load as usual.
Rows are numbered 1, 2, ... after the header, one per line (line breaks: LF, CRLF or CR);
a blank line is a row (with every value empty); a last line without a final line break
is a row like any other, and a header without one is a delivery of no rows. A NUL byte in
the header refuses the file (binary, or UTF-16); in a row it is that row's fault
(validation.py), wherever in the file it is.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from regmig.config import IngestConfig
from regmig.errors import RegmigError
from regmig.schemas.deliveries import columns, required_columns

CSV_SUFFIXES = (".csv", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")
PARQUET_MAGIC = b"PAR1"
#: Bytes read to recognise a Parquet file by its magic number.
SNIFF_BYTES = 4
#: Bytes read at a time while looking for the end of the header row.
HEADER_BLOCK_BYTES = 64 * 1024
LINE_BREAK = re.compile(rb"\r\n?|\n")
#: Bytes validated as UTF-8 at a time.
UTF8_CHECK_BYTES = 16 * 1024 * 1024

ROW_NUMBER = "row_number"


@dataclass(frozen=True)
class Delivery:
    """A delivery file whose format and header passed the whole-file checks."""

    path: Path
    source: str
    file_format: str
    #: Header names as delivered, in file order.
    delivered_columns: tuple[str, ...]
    #: Contract name -> position of its column in the file, for the columns present.
    column_map: dict[str, int]
    missing_optional: tuple[str, ...] = ()
    extra_columns: tuple[str, ...] = ()

    def notes(self) -> list[str]:
        notes = []
        if self.missing_optional:
            notes.append(f"optional column(s) absent, left empty: "
                         f"{', '.join(self.missing_optional)}")
        if self.extra_columns:
            notes.append(f"column(s) not in the contract, ignored: "
                         f"{', '.join(self.extra_columns)}")
        return notes


@dataclass
class RawBatch:
    """Delivered rows as text (contract columns + row_number) and malformed lines."""

    frame: pl.DataFrame
    #: row_number, expected_fields, found_fields (null for a line whose quotes do not
    #: balance), line_text (identifying: restricted).
    malformed: pl.DataFrame = field(default_factory=lambda: _empty_malformed())


MALFORMED_SCHEMA = {ROW_NUMBER: pl.Int64, "expected_fields": pl.Int64,
                    "found_fields": pl.Int64, "line_text": pl.String}


def _empty_malformed() -> pl.DataFrame:
    return pl.DataFrame(schema=MALFORMED_SCHEMA)


def open_delivery(path: Path, source: str) -> Delivery:
    """Check that `path` is a readable delivery of `source`; refuse it whole if not."""
    path = Path(path)
    if not path.is_file():
        raise RegmigError(f"{path}: file not found")
    file_format = _detect_format(path)
    if file_format == "csv" and not _is_utf8(path):
        # Checked up front: the CSV reader would stop at the bad byte only, after work
        # that is then lost, and cannot hand a malformed non-UTF-8 line to quarantine.
        line = _first_invalid_utf8_line(path)
        raise RegmigError(f"{path}: not UTF-8 encoded (first invalid byte on line "
                          f"{line}); export the file as UTF-8")
    header = _csv_header(path) if file_format == "csv" else _parquet_header(path)
    return _match_header(path, source, file_format, header)


def read_batches(delivery: Delivery, config: IngestConfig) -> Iterator[RawBatch]:
    """The delivery's rows in batches; refuses the file (RegmigError) if it turns out
    unreadable part-way, e.g. a non-UTF-8 byte deep in the file."""
    if delivery.file_format == "csv":
        yield from _csv_batches(delivery, config)
    else:
        yield from _parquet_batches(delivery, config)


def _detect_format(path: Path) -> str:
    with open(path, "rb") as handle:
        head = handle.read(SNIFF_BYTES)
    suffix = path.suffix.lower()
    if head.startswith(PARQUET_MAGIC) or suffix in PARQUET_SUFFIXES:
        return "parquet"
    if suffix in CSV_SUFFIXES:
        return "csv"
    raise RegmigError(f"{path}: not a CSV or Parquet file (expected .csv or .parquet, "
                      f"got '{path.suffix or 'no extension'}')")


def _csv_header(path: Path) -> list[str]:
    first_line = _first_line(path)
    if not first_line.strip():
        raise RegmigError(f"{path}: empty file, no header row")
    if b"\x00" in first_line:
        raise RegmigError(f"{path}: not a CSV file (binary content or UTF-16 in the header "
                          f"row); export the file as UTF-8 text")
    try:
        text = first_line.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RegmigError(f"{path}: not UTF-8 encoded (header row)") from None
    try:
        return next(csv.reader(io.StringIO(text), strict=True))
    except csv.Error as exc:
        raise RegmigError(f"{path}: unreadable header row ({exc})") from None


def _first_line(path: Path) -> bytes:
    """The bytes before the first line break (LF, CRLF or CR), read a block at a time."""
    head = b""
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(HEADER_BLOCK_BYTES), b""):
            head += block
            match = LINE_BREAK.search(head)
            if match:
                return head[: match.start()]
    return head


def _parquet_header(path: Path) -> list[str]:
    try:
        schema = pq.read_schema(path)
    except (pa.ArrowException, OSError) as exc:
        raise RegmigError(f"{path}: not a readable Parquet file ({_one_line(exc)})") from None
    nested = [f.name for f in schema if pa.types.is_nested(f.type)]
    if nested:
        raise RegmigError(f"{path}: column(s) {', '.join(nested)} hold nested values, "
                          f"not plain values")
    return list(schema.names)


def _match_header(path: Path, source: str, file_format: str, header: list[str]) -> Delivery:
    wanted = columns(source)
    canonical = [name.strip().lower() for name in header]
    duplicated = sorted({n for n in canonical if canonical.count(n) > 1 and n in wanted})
    if duplicated:
        raise RegmigError(f"{path}: column(s) {', '.join(duplicated)} appear more than once "
                          f"in the header")
    present = set(canonical)
    missing_required = [n for n in required_columns(source) if n not in present]
    if missing_required:
        raise RegmigError(f"{path}: required column(s) missing for {source}: "
                          f"{', '.join(missing_required)}")
    column_map = {c: position for position, c in enumerate(canonical) if c in wanted}
    return Delivery(
        path=path,
        source=source,
        file_format=file_format,
        delivered_columns=tuple(header),
        column_map=column_map,
        missing_optional=tuple(n for n in wanted if n not in present),
        extra_columns=tuple(d for d, c in zip(header, canonical, strict=True)
                            if c not in wanted),
    )


def _positional(count: int) -> list[str]:
    """Column names by position: delivered names may repeat or be odd (extra columns)."""
    return [f"c{i}" for i in range(count)]


def _to_contract(frame: pl.DataFrame, delivery: Delivery) -> pl.DataFrame:
    """Contract columns in contract order (absent optional ones as nulls), as text;
    `frame` has positional column names and row_number."""
    renamed = frame.select(
        [pl.col(f"c{i}").alias(name) for name, i in delivery.column_map.items()]
        + [pl.col(ROW_NUMBER)]
    )
    absent = [pl.lit(None, dtype=pl.String).alias(n) for n in delivery.missing_optional]
    if absent:
        renamed = renamed.with_columns(absent)
    return renamed.select(list(columns(delivery.source)) + [ROW_NUMBER])


def _csv_batches(delivery: Delivery, config: IngestConfig) -> Iterator[RawBatch]:
    # Positional names: the reader skips the header row, which we parsed ourselves, so a
    # header with odd names or a byte-order mark cannot change how values are read.
    positional = _positional(len(delivery.delivered_columns))
    malformed: list[tuple[int, int, int | None, str]] = []
    lines = _LineRecords(delivery.path, len(positional))

    def on_malformed(row: pa_csv.InvalidRow) -> str:
        # Record numbers count the header row as 1.
        number = row.number - 1
        unbalanced = lines.unbalanced.pop(number, None)
        if unbalanced is not None:
            malformed.append((number, row.expected_columns, None, unbalanced))
        else:
            malformed.append((number, row.expected_columns, row.actual_columns, row.text))
        return "skip"

    try:
        reader = pa_csv.open_csv(
            lines,
            read_options=pa_csv.ReadOptions(
                use_threads=False, block_size=config.csv_block_bytes,
                column_names=positional, skip_rows=1,
            ),
            parse_options=pa_csv.ParseOptions(
                delimiter=",", quote_char='"', double_quote=True, newlines_in_values=True,
                ignore_empty_lines=False, invalid_row_handler=on_malformed,
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types={name: pa.string() for name in positional},
                strings_can_be_null=False, quoted_strings_can_be_null=False,
            ),
        )
        good_rows = 0
        reported = 0
        for record_batch in reader:
            frame = pl.from_arrow(record_batch)
            bad_rows = np.array(sorted(m[0] for m in malformed), dtype=np.int64)
            ordinals = np.arange(good_rows + 1, good_rows + frame.height + 1, dtype=np.int64)
            good_rows += frame.height
            frame = frame.with_columns(
                pl.Series(ROW_NUMBER, _row_numbers(ordinals, bad_rows), dtype=pl.Int64)
            )
            new_malformed = malformed[reported:]
            reported = len(malformed)
            yield RawBatch(_to_contract(frame, delivery), _malformed_frame(new_malformed))
        if len(malformed) > reported:
            yield RawBatch(_to_contract(_empty_text_frame(delivery), delivery),
                           _malformed_frame(malformed[reported:]))
    except pa.ArrowInvalid as exc:
        raise RegmigError(_csv_failure(delivery.path, exc)) from None
    finally:
        lines.close()


class _LineRecords(io.RawIOBase):
    """The CSV file as the parser is to see it: every physical line one record.

    A data line whose quotes do not balance is replaced by a line of the wrong number of
    fields, so the parser reports it as malformed under its own row number; its text is
    kept in `unbalanced` (row number -> line) for the quarantine. The stream always ends
    with a line break, so a header without one reads as a file of no rows. Lines are
    found with numpy a chunk at a time (no loop over lines in Python).
    """

    #: Bytes read from the file per chunk.
    CHUNK_BYTES = 8 * 1024 * 1024

    def __init__(self, path: Path, fields: int) -> None:
        super().__init__()
        self._file = open(path, "rb")  # noqa: SIM115  (closed by close())
        self._marker = b"," * fields  # fields + 1 fields: never a valid record
        self.unbalanced: dict[int, str] = {}
        self._line = 0  # number of the next line in the file; the header is line 0
        self._carry = b""
        self._ready = memoryview(b"")
        self._eof = False

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._file.close()
        super().close()

    def readinto(self, buffer) -> int:  # type: ignore[override]
        while not self._ready and not self._eof:
            self._ready = memoryview(self._next_chunk())
        size = min(len(buffer), len(self._ready))
        buffer[:size] = self._ready[:size]
        self._ready = self._ready[size:]
        return size

    def _next_chunk(self) -> bytes:
        block = self._file.read(self.CHUNK_BYTES)
        data = self._carry + block
        if not block:
            self._eof = True
            self._carry = b""
            if not data:
                return b""
            return self._checked(data + b"\n")
        # Keep an incomplete last line (and a final CR, which may be half of a CRLF) for
        # the next chunk.
        cut = max(data.rfind(b"\n"), data.rfind(b"\r", 0, len(data) - 1)) + 1
        self._carry = data[cut:]
        return self._checked(data[:cut])

    def _checked(self, data: bytes) -> bytes:
        """`data` (whole lines) with every data line of odd quote count replaced."""
        array = np.frombuffer(data, dtype=np.uint8)
        lf = array == ord("\n")
        cr = array == ord("\r")
        cr_alone = cr & ~np.append(lf[1:], False)
        ends = np.flatnonzero(lf | cr_alone)  # last byte of each line
        quotes = np.flatnonzero(array == ord('"'))
        if quotes.size == 0:
            self._line += ends.size
            return data
        per_line = np.bincount(np.searchsorted(ends, quotes), minlength=ends.size)
        odd = np.flatnonzero(per_line[: ends.size] % 2 == 1)
        odd = odd[odd + self._line > 0]  # the header is checked by the header reader
        if odd.size == 0:
            self._line += ends.size
            return data
        starts = np.concatenate(([0], ends[:-1] + 1))
        parts = []
        position = 0
        for index in odd.tolist():  # one iteration per broken line, not per line
            start, end = int(starts[index]), int(ends[index])
            content_end = end - 1 if data[end] == ord("\n") and end > start and \
                data[end - 1] == ord("\r") else end
            self.unbalanced[self._line + index] = data[start:content_end].decode(
                "utf-8", errors="replace")
            parts += [data[position:start], self._marker]
            position = content_end
        parts.append(data[position:])
        self._line += ends.size
        return b"".join(parts)


def _row_numbers(ordinals: np.ndarray, bad_rows: np.ndarray) -> np.ndarray:
    """Row number of the k-th well-formed row, given the (sorted) malformed row numbers:
    k plus the malformed rows before it. Malformed row j is preceded by bad[j] - 1 - j
    good rows, so it comes before good row k exactly when bad[j] - j <= k."""
    if bad_rows.size == 0:
        return ordinals
    good_before = bad_rows - np.arange(bad_rows.size)
    return ordinals + np.searchsorted(good_before, ordinals, side="right")


def _malformed_frame(rows: list[tuple[int, int, int | None, str]]) -> pl.DataFrame:
    if not rows:
        return _empty_malformed()
    return pl.DataFrame(rows, schema=MALFORMED_SCHEMA, orient="row")


def _empty_text_frame(delivery: Delivery) -> pl.DataFrame:
    schema = {name: pl.String for name in _positional(len(delivery.delivered_columns))}
    return pl.DataFrame(schema=schema | {ROW_NUMBER: pl.Int64})


def _csv_failure(path: Path, exc: Exception) -> str:
    # pyarrow quotes the offending line: cut the quote, which may hold names (the message
    # is kept in meta.loads).
    message = re.sub(r"(Row #\d+: [^:]*):.*", r"\1", _one_line(exc))
    return f"{path}: unreadable CSV ({message})"


def _is_utf8(path: Path) -> bool:
    """Whether the whole file is UTF-8, validated by polars (SIMD) a block at a time, each
    block cut after its last newline so that no character is split."""
    carry = b""
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(UTF8_CHECK_BYTES), b""):
            block = carry + block
            cut = block.rfind(b"\n") + 1
            try:
                pl.Series([block[:cut]], dtype=pl.Binary).cast(pl.String)
            except pl.exceptions.PolarsError:
                return False
            carry = block[cut:]
    try:
        pl.Series([carry], dtype=pl.Binary).cast(pl.String)
    except pl.exceptions.PolarsError:
        return False
    return True


def _first_invalid_utf8_line(path: Path) -> int | None:
    """Line (1 = header) holding the first byte that is not UTF-8; scans in blocks."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                return line + block[: exc.start].count(b"\n")
            line += block.count(b"\n")
    return None


def _parquet_batches(delivery: Delivery, config: IngestConfig) -> Iterator[RawBatch]:
    try:
        parquet = pq.ParquetFile(delivery.path)
        offset = 0
        for record_batch in parquet.iter_batches(batch_size=config.parquet_batch_rows):
            frame = pl.from_arrow(
                record_batch.rename_columns(_positional(record_batch.num_columns))
            )
            assert isinstance(frame, pl.DataFrame)
            frame = frame.with_columns(
                [_as_text(name, dtype) for name, dtype in frame.schema.items()]
            ).with_columns(
                pl.int_range(offset + 1, offset + frame.height + 1, dtype=pl.Int64)
                .alias(ROW_NUMBER)
            )
            offset += frame.height
            yield RawBatch(_to_contract(frame, delivery))
    except (pa.ArrowException, OSError, pl.exceptions.PolarsError) as exc:
        raise RegmigError(f"{delivery.path}: unreadable Parquet file ({_one_line(exc)})") \
            from None


def _as_text(name: str, dtype: pl.DataType) -> pl.Expr:
    """A Parquet column as the text a CSV delivery would hold (dates ISO 8601)."""
    column = pl.col(name)
    if dtype == pl.Date:
        return column.dt.strftime("%Y-%m-%d")
    if isinstance(dtype, pl.Datetime):
        return column.dt.strftime("%Y-%m-%d %H:%M:%S")
    return column.cast(pl.String)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]
