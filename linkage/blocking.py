"""Blocking: every pass the delivery's columns allow, bounded rather than dropped.

Scoring costs time in proportion to the number of compared pairs (about 230,000 a second
on two cores). The budget grows with the data: `comparison_budget` pairs plus
`comparisons_per_profile` per profile. Each pass of model_settings.BLOCKING_PASSES whose
columns are present is counted exactly, block by block (a block: the profiles sharing
the pass's key values). When all passes together exceed the budget, no pass is dropped:
the largest blocks are left out of every boundable pass, with one cap on block size
chosen as the largest that fits. Large blocks are the least informative (a common name
in a common year) and the other passes still reach most of their pairs. What was left
out (pairs, profiles in capped blocks, the cap) goes to meta.quality.

The counts add up the passes' pairs before Splink removes pairs found by two passes,
so they bound the comparisons scored from above.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb

from regmig.config import LinkageConfig
from regmig.errors import RegmigError
from regmig.linkage.coverage import Coverage
from regmig.linkage.model_settings import BLOCKING_PASSES, BlockingPass, usable


@dataclass(frozen=True)
class BlockingChoice:
    name: str
    rule: Any  # Splink blocking rule (SQL or an exploding rule); None when not usable
    comparisons: int  # pairs this pass generates (within the cap)
    comparisons_left_out: int  # pairs in blocks over the cap
    profiles_in_capped_blocks: int
    max_block: int | None  # the cap on block size, None when unbounded
    usable: bool  # the delivery holds the columns the pass reads
    #: the pass as SQL on a pair (l., r.), for measuring blocking recall; None when unusable
    condition: str | None = None

    @property
    def kept(self) -> bool:
        return self.usable


def comparison_budget(profiles: int, config: LinkageConfig) -> int:
    return int(config.comparison_budget + config.comparisons_per_profile * profiles)


def choose_blocking_rules(
    work: duckdb.DuckDBPyConnection, coverage: Coverage, config: LinkageConfig,
    table: str = "profiles",
) -> list[BlockingChoice]:
    """Every pass with its exact pairs; the block-size cap applied where needed.

    Adds each bounded pass's block-size column to `table`.
    """
    passes = [p for p in BLOCKING_PASSES
              if usable(p.requires, coverage, config.min_column_coverage)]
    histograms = {p.name: _block_histogram(work, p, table) for p in passes}
    budget = comparison_budget(coverage.profiles, config)
    cap = _largest_cap(passes, histograms, budget)
    if cap is not None and cap < 2:
        raise RegmigError(
            f"[linkage] comparison_budget = {config.comparison_budget:,} and "
            f"comparisons_per_profile = {config.comparisons_per_profile:g} allow "
            f"{budget:,} comparisons: not even the unboundable passes fit "
            f"({_total(passes, histograms, 2):,} needed)"
        )
    choices = []
    for p in BLOCKING_PASSES:
        if p not in passes:
            choices.append(BlockingChoice(p.name, None, 0, 0, 0, None, False))
            continue
        histogram = histograms[p.name]
        bounded = cap is not None and p.boundable and max(histogram, default=0) > cap
        if bounded:
            _add_block_sizes(work, p, table)
        kept = sum(c for size, (c, _n) in histogram.items() if not bounded or size <= cap)
        left_out = sum(c for c, _n in histogram.values()) - kept
        capped_profiles = sum(n for size, (_c, n) in histogram.items()
                              if bounded and size > cap)
        choices.append(BlockingChoice(
            p.name, p.rule(cap if bounded else None), kept, left_out, capped_profiles,
            cap if bounded else None, True, p.condition(cap if bounded else None)))
    return choices


def _block_histogram(
    work: duckdb.DuckDBPyConnection, p: BlockingPass, table: str
) -> dict[int, tuple[int, int]]:
    """block size -> (pairs the pass generates in blocks of that size, profiles in them),
    over the blocks that generate pairs.

    A pass limited to pairs with `missing_on_one_side` absent on a side generates a
    block's pairs less those among its profiles that have the column."""
    if p.exploded:
        return _exploded_pairs(work, p, table)
    left = list(p.keys) + [a for a, _b in p.crossed]
    right = list(p.keys) + [b for _a, b in p.crossed]
    present = " AND ".join(f'"{c}" IS NOT NULL' for c in left)
    group = ", ".join(f'"{c}"' for c in left)
    with_column = (f'count("{p.missing_on_one_side}")' if p.missing_on_one_side is not None
                   else "0")
    if not p.crossed:
        query = f"""
            WITH blocks AS (
                SELECT count(*) AS n, {with_column} AS m FROM {table} WHERE {present}
                GROUP BY {group}
            )
            SELECT n, sum(n * (n - 1) // 2 - m * (m - 1) // 2), sum(n) FROM blocks
            WHERE n * (n - 1) // 2 - m * (m - 1) // 2 > 0 GROUP BY n
        """
    else:
        joined = " AND ".join(f'a."{lc}" = b."{rc}"' for lc, rc in zip(left, right, strict=True))
        query = f"""
            WITH blocks AS (
                SELECT {", ".join(f'"{c}"' for c in dict.fromkeys(left + right))},
                       count(*) AS n, {with_column} AS m
                FROM {table} WHERE {present} AND {" AND ".join(f'"{c}" IS NOT NULL' for c in right)}
                GROUP BY ALL
            ), left_blocks AS (
                SELECT {group}, sum(n) AS n, sum(m) AS m FROM blocks GROUP BY ALL
            ), right_blocks AS (
                SELECT {", ".join(f'"{c}"' for c in right)}, sum(n) AS n, sum(m) AS m
                FROM blocks GROUP BY ALL
            )
            SELECT a.n, sum(a.n * b.n - a.m * b.m) // 2, sum(a.n) FROM left_blocks AS a
            JOIN right_blocks AS b ON {joined} WHERE a.n * b.n - a.m * b.m > 0 GROUP BY a.n
        """
    return {int(size): (int(pairs), int(profiles))
            for size, pairs, profiles in work.sql(query).fetchall()}


def _exploded_pairs(
    work: duckdb.DuckDBPyConnection, p: BlockingPass, table: str
) -> dict[int, tuple[int, int]]:
    """An exploded pass as one entry (it is never bounded): the distinct pairs whose lists
    share an element, less those of one document (the document pass has them), and the
    profiles in them."""
    (key,) = p.keys
    pairs, profiles = work.sql(f"""
        WITH elements AS (
            SELECT unique_id, document_key, unnest("{key}") AS element FROM {table}
            WHERE len("{key}") > 0
        ), pairs AS (
            SELECT DISTINCT a.unique_id AS id_l, b.unique_id AS id_r
            FROM elements AS a JOIN elements AS b
              ON a.element = b.element AND a.unique_id < b.unique_id
            WHERE a.document_key IS DISTINCT FROM b.document_key
        )
        SELECT count(*), (SELECT count(*) FROM (SELECT id_l FROM pairs UNION
                                                SELECT id_r FROM pairs))
        FROM pairs
    """).fetchall()[0]
    return {2: (int(pairs), int(profiles))} if pairs else {}


def _total(passes: list[BlockingPass], histograms: dict, cap: int | None) -> int:
    return sum(c for p in passes for size, (c, _n) in histograms[p.name].items()
               if cap is None or not p.boundable or size <= cap)


def _largest_cap(passes: list[BlockingPass], histograms: dict, budget: int) -> int | None:
    """None when everything fits, else the largest block size that keeps the total
    within the budget (binary search over the block sizes present)."""
    if _total(passes, histograms, None) <= budget:
        return None
    sizes = sorted({s for p in passes if p.boundable for s in histograms[p.name]})
    low, high = 0, len(sizes) - 1
    best = 1
    while low <= high:
        middle = (low + high) // 2
        if _total(passes, histograms, sizes[middle]) <= budget:
            best = sizes[middle]
            low = middle + 1
        else:
            high = middle - 1
    return best


def _add_block_sizes(work: duckdb.DuckDBPyConnection, p: BlockingPass, table: str) -> None:
    left = [*p.keys, *(a for a, _b in p.crossed)]
    group = ", ".join(f'"{c}"' for c in left)
    work.execute(f"""
        CREATE OR REPLACE TABLE {table} AS
        SELECT *, count(*) OVER (PARTITION BY {group}) AS "{p.block_size_column}"
        FROM {table}
    """)
