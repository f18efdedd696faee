"""`regmig classify`: the residence rule alone on a plain crossing file (docs/design.md §6).

    regmig classify --crossings FILE --out FILE [--threshold-days 365 --window-days 487]
                    [--initial FILE] [--data-end DATE]

Input: CSV with person_id, crossing_date (ISO date or timestamp), direction
(arrival|departure). Output: one row per crossing with person_id, crossing_date,
direction, seq, res_status_before, res_status_after, is_long_term_migration, resolved,
date_finalised_ltm, date_finalised_res_after, imputed (statuses and flags 0|1; 1 =
resident; the flag and the dates empty while unresolved). Broken sequences (two arrivals
in a row) are repaired as in the estimate stage (the missing crossing placed by the
person's usual stays and trips; the register and permit evidence of the "evidence"
policy is not available to a plain crossing file): the crossings the repair adds are
written too, marked imputed = 1, in their place in the person's order.

Bad rows are reported all at once, one line each (file, row, column), up to
`estimate.classify_errors_shown` of them.
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

    settings = Config().estimate
    defaults = settings
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
    crossings = read_crossings(args.crossings, settings.classify_errors_shown)
    initial = (read_initial(args.initial, crossings["person_id"].dtype,
                            settings.classify_errors_shown) if args.initial else None)
    if args.data_end is not None:
        try:
            data_end = date.fromisoformat(args.data_end)
        except ValueError:
            raise RegmigError(f"--data-end {args.data_end!r}: not an ISO date") from None
    else:
        data_end = crossings["crossing_date"].max()
    late = crossings.filter(pl.col("crossing_date") > data_end)
    if late.height:
        raise RegmigError(_bad_rows(args.crossings, late.select(
            "delivery_order", column=pl.lit("crossing_date"),
            message=pl.format("{} is after --data-end {}", "crossing_date",
                              pl.lit(str(data_end)))), settings.classify_errors_shown))
    result = classify_histories(
        crossings, initial, rule, data_end, defaults.repair_policy, str(args.crossings)
    )
    written = result.crossings.sort("person_id", "seq").select(
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
        pl.col("imputed").cast(pl.Int8),
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    written.write_csv(args.out)
    print(
        f"classified {crossings.height} crossings of {written['person_id'].n_unique()} "
        f"persons under the {rule.threshold_days}/{rule.window_days}-day rule, data end "
        f"{data_end}: {int(written['is_long_term_migration'].sum() or 0)} long-term "
        f"migrations, {int((written['resolved'] == 0).sum())} unresolved; "
        f"{result.repairs.imputed} crossings imputed to repair broken sequences (written, "
        f"imputed = 1) -> {args.out}"
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


def _bad(frame, bad, column: str, what: str):  # -> pl.DataFrame
    """The rows where `bad` (a boolean Series) holds: delivery_order, column, message."""
    import polars as pl

    return frame.filter(bad.fill_null(True)).select(
        "delivery_order", column=pl.lit(column),
        message=pl.format("'{}' " + what, pl.col(column).cast(pl.String).fill_null("")))


def _bad_rows(path: Path, problems, shown: int) -> str:
    """One line per bad row (file, row, column, what is wrong), the first `shown` of them
    in row order, then how many more there are."""
    problems = problems.sort("delivery_order")
    lines = [f"{path}: row {row}, column {column}: {message}"
             for row, column, message in problems.head(shown).iter_rows()]
    if problems.height > shown:
        lines.append(f"{path}: {problems.height - shown} more bad rows not shown "
                     f"({problems.height} in all)")
    return "\n".join(lines)


def _raise_if_bad(path: Path, problems: list, shown: int) -> None:
    import polars as pl

    found = pl.concat(problems) if problems else None
    if found is not None and found.height:
        raise RegmigError(_bad_rows(path, found, shown))


def _person_ids(frame, problems: list):
    import polars as pl

    ids = frame["person_id"]
    problems.append(_bad(frame, ids.is_null() | (ids.str.strip_chars() == ""), "person_id",
                         "is empty"))
    as_int = ids.cast(pl.Int64, strict=False)
    return as_int if as_int.null_count() == 0 else ids


#: Timestamp layouts accepted in crossing_date besides a plain ISO date.
ISO_TIMESTAMPS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M")


def _crossing_times(stamp):  # pl.Series -> pl.Series of datetimes (null: not ISO)
    """Dates first (the common case, and fast); only the values that are not plain dates
    are tried against the timestamp layouts. Explicit formats: polars' inference raises on
    a file whose first value is malformed instead of leaving it empty."""
    import polars as pl

    parsed = stamp.str.to_date("%Y-%m-%d", strict=False).cast(pl.Datetime("us"))
    rest = parsed.is_null() & stamp.is_not_null()
    if not rest.any():
        return parsed
    others = stamp.filter(rest)
    timed = pl.select(pl.coalesce(
        *[others.str.to_datetime(fmt, strict=False, time_unit="us") for fmt in ISO_TIMESTAMPS]
    )).to_series()
    return parsed.scatter(rest.arg_true(), timed)


def read_crossings(path: Path, shown: int = 20):  # -> pl.DataFrame
    """The crossing file, checked: every bad row is reported (the first `shown`)."""
    frame = _read_csv(path, CROSSING_COLUMNS)
    if frame.height == 0:
        raise RegmigError(f"{path}: no crossings (only a header)")
    problems: list = []
    frame = frame.with_columns(person_id=_person_ids(frame, problems))
    parsed = _crossing_times(frame["crossing_date"].str.strip_chars())
    problems.append(_bad(frame, parsed.is_null(), "crossing_date", "is not an ISO date"))
    direction = frame["direction"].str.strip_chars().str.to_lowercase()
    problems.append(_bad(frame, ~direction.is_in(["arrival", "departure"]), "direction",
                         "is not arrival or departure"))
    _raise_if_bad(path, problems, shown)
    return frame.with_columns(
        crossing_date=parsed.dt.date(), crossed_at=parsed, direction=direction
    )


def read_initial(path: Path, person_dtype, shown: int = 20):  # -> pl.DataFrame
    import polars as pl

    frame = _read_csv(path, INITIAL_COLUMNS)
    problems: list = []
    frame = frame.with_columns(person_id=_person_ids(frame, problems).cast(person_dtype,
                                                                           strict=False))
    status = frame["res_status_initial"].str.strip_chars()
    problems.append(_bad(frame, ~(status.is_in(["0", "1", ""]) | status.is_null()),
                         "res_status_initial", "is not 0, 1 or empty"))
    when = frame["date_initial"].str.strip_chars()
    parsed = when.str.to_date(strict=False, format="%Y-%m-%d")
    problems.append(_bad(frame, parsed.is_null() & when.is_not_null() & (when != ""),
                         "date_initial", "is not an ISO date"))
    problems.append(_bad(frame, frame["person_id"].is_duplicated(), "person_id",
                         "appears more than once"))
    _raise_if_bad(path, problems, shown)
    return frame.select(
        "person_id",
        res_status_initial=pl.when(status == "").then(None).otherwise(status).cast(pl.Int8),
        date_initial=parsed,
    )
