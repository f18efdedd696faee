"""Per-person crossing histories: crossings in time order, broken sequences repaired.

Arrivals and departures must alternate. Two consecutive crossings in the same direction
mean one crossing in between was never recorded. The repair policy decides what to do:
  midpoint  add the missing crossing (opposite direction) halfway between the two;
  drop      drop the second crossing of the pair, as if it were a duplicate record;
  refuse    stop with an error naming the person and the crossing;
  evidence  the missing crossing placed by the person's own stays and trips
            (`gaps`), then missing first and last crossings imputed from
            register and permit evidence (`ends`; applied by
            `step2_rule.classify`).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from regmig.config import RepairPolicy
from regmig.errors import RegmigError
from regmig.estimators.step1_histories import gaps

_OPPOSITE = {"arrival": "departure", "departure": "arrival"}


@dataclass(frozen=True)
class RepairCounts:
    """What the repair did (cases), reported in meta.quality."""

    broken_pairs: int
    imputed: int
    dropped: int
    persons_repaired: int
    #: Policy "evidence": arrivals imputed at the start of a first permit, departures at a
    #: deregistration for emigration, initial statuses set by absence from all records...
    arrivals_from_permits: int = 0
    departures_from_deregistrations: int = 0
    initial_from_register_absence: int = 0
    #: ... and last departures of visitors (foreign citizens on no record) after their
    #: usual stay.
    visitor_departures: int = 0


def order_crossings(crossings: pl.DataFrame) -> pl.DataFrame:
    """Sort each person's crossings: by date, then time, then delivery order.

    Expects person_id, crossing_date, direction and optionally crossed_at and
    delivery_order (file order); adds `order_key`, the position in the whole frame.
    """
    keys = ["person_id", "crossing_date"]
    for optional in ("crossed_at", "delivery_order"):
        if optional in crossings.columns:
            keys.append(optional)
    return crossings.sort(keys, nulls_last=True).with_row_index("order_key")


def repair(
    crossings: pl.DataFrame,
    policy: RepairPolicy,
    source: str = "crossings",
    home_periods: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, RepairCounts]:
    """Make arrivals and departures alternate; returns the history with `seq` (1, 2, ...
    per person) and `imputed`, and the counts of what was done.

    `source` names the input in the error raised under the "refuse" policy;
    `home_periods` (policy "evidence"): when the records have each person living here
    (`ends.home_periods`).
    """
    ordered = order_crossings(crossings)
    # Rows are sorted by person: the row before is the person's previous crossing when
    # it is the same person (a shift over the whole frame, no grouping).
    same_person = pl.col("person_id") == pl.col("person_id").shift(1)
    same_as_previous = (same_person & (pl.col("direction") == pl.col("direction").shift(1))
                        ).fill_null(False)
    ordered = ordered.with_columns(breaks=same_as_previous)
    broken = ordered.filter("breaks")
    persons = broken["person_id"].n_unique()
    if policy == "refuse" and broken.height:
        first = broken.row(0, named=True)
        record = first.get("record_id")
        where = (f"record {record}" if record is not None
                 else f"crossing on {first['crossing_date']}")
        raise RegmigError(
            f"{source}: person {first['person_id']}, {where}: two consecutive "
            f"{first['direction']}s ({broken.height} such pairs; repair_policy = refuse)"
        )
    if not broken.height:
        return _numbered(ordered.with_columns(imputed=pl.lit(False))), RepairCounts(0, 0, 0, 0)
    if policy == "drop":
        # Dropping the second of a pair can create a new pair with the next crossing
        # (a, a, a): keep only the first crossing of each run of one direction.
        run_start = ~pl.col("breaks")
        repaired = ordered.filter(run_start).with_columns(imputed=pl.lit(False))
        counts = RepairCounts(broken.height, 0, broken.height, persons)
    else:
        pairs = ordered.with_columns(
            previous_date=pl.col("crossing_date").shift(1).over("person_id")
        ).filter("breaks")
        if policy == "evidence":
            dates = gaps.imputed_dates(pairs, ordered, home_periods)
        else:
            dates = pairs.select(
                gaps.midpoint(pl.col("previous_date"), pl.col("crossing_date"))
            ).to_series()
        midpoints = pairs.select(
            "person_id",
            crossing_date=dates,
            direction=pl.col("direction").replace_strict(_OPPOSITE),
            # Just before the crossing that revealed the gap.
            order_key=pl.col("order_key").cast(pl.Float64) - 0.5,
            imputed=pl.lit(True),
        )
        repaired = pl.concat(
            [
                ordered.with_columns(
                    order_key=pl.col("order_key").cast(pl.Float64), imputed=pl.lit(False)
                ),
                midpoints,
            ],
            how="diagonal_relaxed",
        )
        counts = RepairCounts(broken.height, broken.height, 0, persons)
    return _numbered(repaired.sort("person_id", "order_key")), counts


def _numbered(ordered: pl.DataFrame) -> pl.DataFrame:
    """`seq` 1, 2, ... within each person of a frame sorted by person and order: the row's
    position less that of the person's first row (no grouping)."""
    position = pl.int_range(pl.len(), dtype=pl.Int64)
    first_row = (pl.col("person_id") != pl.col("person_id").shift(1)).fill_null(True)
    start = pl.when(first_row).then(position).forward_fill()
    return ordered.with_columns(seq=(position - start + 1).cast(pl.Int32)).drop(
        "breaks", "order_key")
