"""`regmig classify`: the residence rule alone on a plain crossing file (docs/design.md §6).

    regmig classify --crossings FILE --out FILE [--threshold-days 365 --window-days 487]
                    [--initial FILE] [--data-end DATE]

Input: CSV with person_id, crossing_date (ISO date or timestamp), direction
(arrival|departure). Output: one row per input crossing with person_id, crossing_date,
direction, seq, res_status_before, res_status_after, is_long_term_migration, resolved,
date_finalised_ltm, date_finalised_res_after (statuses and flags 0|1; 1 = resident; the
flag and the dates empty while unresolved). Broken sequences (two arrivals in a row) are
repaired as in the estimate stage (the missing crossing placed by the person's usual
stays and trips; the register and permit evidence of the "evidence" policy is not
available to a plain crossing file); imputed crossings shape the result but are not
written.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from regmig.errors import RegmigError

CROSSING_COLUMNS = ("person_id", "crossing_date", "direction")
INITIAL_COLUMNS = ("person_id", "res_status_initial", "date_initial")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--crossings", required=True, type=Path,
                        help="CSV: person_id, crossing_date, direction")
    parser.add_argument("--out", required=True, type=Path, help="CSV file to write")
    parser.add_argument("--threshold-days", type=int, default=None,
                        help="V: days in (or out) that make a long-term migration (365)")
    parser.add_argument("--window-days", type=int, default=None,
                        help="W: days after the crossing in which they are counted (487)")
    parser.add_argument("--initial", type=Path, default=None,
                        help="CSV: person_id, res_status_initial, date_initial")
    parser.add_argument("--data-end", type=str, default=None,
                        help="last day observed (default: the latest crossing date)")


def run(args: argparse.Namespace) -> int:
    from datetime import date

    import polars as pl

    from regmig.config import Config, ResidenceRule
    from regmig.estimators.step2_rule.classify import classify_histories

    defaults = Config().estimate
    rule = ResidenceRule(
        args.threshold_days if args.threshold_days is not None
        else defaults.rule.threshold_days,
        args.window_days if args.window_days is not None else defaults.rule.window_days,
    )
    if not 0 < rule.threshold_days <= rule.window_days:
        raise RegmigError(
            f"--threshold-days {rule.threshold_days} and --window-days {rule.window_days}: "
            "need 0 < threshold <= window"
        )
    crossings = read_crossings(args.crossings)
    initial = read_initial(args.initial, crossings["person_id"].dtype) if args.initial else None
    if args.data_end is not None:
        try:
            data_end = date.fromisoformat(args.data_end)
        except ValueError:
            raise RegmigError(f"--data-end {args.data_end!r}: not an ISO date") from None
    else:
        data_end = crossings["crossing_date"].max()
    if crossings.height and crossings["crossing_date"].max() > data_end:
        late = crossings.filter(pl.col("crossing_date") > data_end).row(0, named=True)
        raise RegmigError(
            f"{args.crossings}: row {late['delivery_order']}, column crossing_date: "
            f"{late['crossing_date']} is after --data-end {data_end}"
        )
    result = classify_histories(
        crossings, initial, rule, data_end, defaults.repair_policy, str(args.crossings)
    )
    written = (
        result.crossings.filter(~pl.col("imputed"))
        .sort("person_id", "seq")
        .with_columns(seq=pl.int_range(1, pl.len() + 1).over("person_id"))
        .select(
            "person_id",
            "crossing_date",
            "direction",
            "seq",
            "res_status_before",
            "res_status_after",
            pl.col("is_long_term_migration").cast(pl.Int8),
            pl.col("resolved").cast(pl.Int8),
            "date_finalised_ltm",
            "date_finalised_res_after",
        )
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    written.write_csv(args.out)
    repairs = result.repairs
    print(
        f"classified {written.height} crossings of {written['person_id'].n_unique()} persons "
        f"under the {rule.threshold_days}/{rule.window_days}-day rule, data end {data_end}: "
        f"{int(written['is_long_term_migration'].sum() or 0)} long-term migrations, "
        f"{int((written['resolved'] == 0).sum())} unresolved; "
        f"{repairs.imputed} crossings imputed to repair broken sequences -> {args.out}"
    )
    return 0


def _read_csv(path: Path, required: tuple[str, ...]):  # -> pl.DataFrame
    import polars as pl

    if not path.is_file():
        raise RegmigError(f"{path}: file not found")
    try:
        frame = pl.read_csv(path, infer_schema=False)
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError, UnicodeDecodeError) as exc:
        raise RegmigError(f"{path}: not a readable CSV file ({str(exc).splitlines()[0]})") \
            from None
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise RegmigError(f"{path}: row 0 (header), column {missing[0]}: column missing "
                          f"(expected {', '.join(required)})")
    return frame.with_row_index("delivery_order", offset=1)


def _first_bad(path: Path, frame, bad, column: str, what: str) -> None:
    """Raise naming the first row where `bad` (a boolean Series) holds."""
    if bad.any():
        row = frame.filter(bad).row(0, named=True)
        raise RegmigError(
            f"{path}: row {row['delivery_order']}, column {column}: {row[column]!r} {what}"
        )


def _person_ids(frame, path: Path):
    import polars as pl

    _first_bad(path, frame, frame["person_id"].is_null() | (frame["person_id"].str.strip_chars()
               == ""), "person_id", "is empty")
    as_int = frame["person_id"].cast(pl.Int64, strict=False)
    return as_int if as_int.null_count() == 0 else frame["person_id"]


#: Timestamp layouts accepted in crossing_date besides a plain ISO date.
ISO_TIMESTAMPS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M")


def read_crossings(path: Path):  # -> pl.DataFrame
    import polars as pl

    frame = _read_csv(path, CROSSING_COLUMNS)
    if frame.height == 0:
        raise RegmigError(f"{path}: no crossings (only a header)")
    frame = frame.with_columns(person_id=_person_ids(frame, path))
    stamp = frame["crossing_date"].str.strip_chars()
    # Explicit formats: polars' format inference raises on a file whose first value is
    # malformed instead of leaving that value empty for the row-naming error below.
    parsed = pl.select(pl.coalesce(
        *[stamp.str.to_datetime(fmt, strict=False, time_unit="us") for fmt in ISO_TIMESTAMPS],
        stamp.str.to_date("%Y-%m-%d", strict=False).cast(pl.Datetime("us")),
    )).to_series()
    _first_bad(path, frame, parsed.is_null(), "crossing_date", "is not an ISO date")
    direction = frame["direction"].str.strip_chars().str.to_lowercase()
    _first_bad(path, frame, ~direction.is_in(["arrival", "departure"]).fill_null(False),
               "direction", "is not arrival or departure")
    return frame.with_columns(
        crossing_date=parsed.dt.date(), crossed_at=parsed, direction=direction
    )


def read_initial(path: Path, person_dtype):  # -> pl.DataFrame
    import polars as pl

    frame = _read_csv(path, INITIAL_COLUMNS)
    frame = frame.with_columns(person_id=_person_ids(frame, path).cast(person_dtype,
                                                                       strict=False))
    status = frame["res_status_initial"].str.strip_chars()
    _first_bad(path, frame, ~(status.is_in(["0", "1", ""]) | status.is_null()),
               "res_status_initial", "is not 0, 1 or empty")
    when = frame["date_initial"].str.strip_chars()
    parsed = when.str.to_date(strict=False, format="%Y-%m-%d")
    _first_bad(path, frame, parsed.is_null() & when.is_not_null() & (when != ""),
               "date_initial", "is not an ISO date")
    duplicated = frame["person_id"].is_duplicated()
    _first_bad(path, frame, duplicated, "person_id", "appears more than once")
    return frame.select(
        "person_id",
        res_status_initial=pl.when(status == "").then(None).otherwise(status).cast(pl.Int8),
        date_initial=parsed,
    )
