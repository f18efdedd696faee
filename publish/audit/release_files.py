"""What an outsider reads: the published cells and the relations the metadata states.

Every table's cube is the product of its dimensions' codes (metadata); a cell of the cube
is *shown* (a number in the CSV), *confidential* (the symbol), or *hidden* (absent from
the CSV: a cell kept only for the sums, e.g. citizens not naturalised). Two cells of the
same population whose codes agree outside the total codes are the same count, in any
table (the metadata says so). Relations, each ``sum coef * cell`` = 0 or >= 0:
- an additive dimension: total = sum of its parts;
- a non-additive one: each part <= total <= sum of the parts;
- a table's rules: each cell (restricted to `where`) <= the cell of the bound table
  with the same codes in `on`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from regmig.errors import RegmigError


@dataclass
class PublishedSystem:
    """Cells (one row per distinct count) and the relations among them."""

    #: cell, key, table_id (first holding it), state (shown | confidential | hidden), shown
    cells: pl.DataFrame
    #: Relation rows in COO form; `equality[row]` False for ``>= 0``.
    row: np.ndarray
    col: np.ndarray
    coef: np.ndarray
    equality: np.ndarray
    #: table_id, codes of every dimension as a string "dim=code;...", cell
    members: pl.DataFrame
    metadata: dict
    #: Under rounding, how far a shown value may be from the true one (0: exact).
    spread: int = 0


def read_release(release_dir: Path) -> PublishedSystem:
    """Everything an outsider can use, from the release folder alone."""
    meta_path = release_dir / "metadata.json"
    try:
        metadata = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RegmigError(f"{meta_path}: cannot read the release metadata ({exc})") from exc
    release = metadata["release"]
    totals = set(release["cell_identity"]["total_codes"])
    symbol = release["confidential_symbol"]
    tables = [t for t in metadata["tables"] if t["available"]]
    cubes = {t["table_id"]: _cube(release_dir, t, totals, symbol) for t in tables}
    stacked = pl.concat([c.select("key", "table_id", "state", "shown", "codes")
                         for c in cubes.values()])
    shown_twice = stacked.filter(pl.col("state") == "shown").group_by("key").agg(
        pl.col("shown").n_unique().alias("n")).filter(pl.col("n") > 1)
    if shown_twice.height:
        raise RegmigError(f"release: one count is shown with two values: "
                          f"{shown_twice['key'][0]}")
    # A count is known if any table shows it, hidden only if every table hides it.
    rank = pl.col("state").replace_strict({"shown": 0, "confidential": 1, "hidden": 2},
                                          return_dtype=pl.Int32)
    cells = (stacked.with_columns(rank.alias("rank")).sort("rank", maintain_order=True)
             .group_by("key", maintain_order=True)
             .agg(pl.col("table_id").first(), pl.col("state").first(),
                  pl.col("shown").first())
             .with_row_index("cell").with_columns(pl.col("cell").cast(pl.Int64)))
    ids = cells.select("key", "cell")
    with_ids = {tid: cube.join(ids, on="key") for tid, cube in cubes.items()}
    terms: list[pl.DataFrame] = []
    for table in tables:
        terms.extend(_dimension_relations(table, with_ids[table["table_id"]]))
        terms.extend(_rules(table, with_ids))
    row, col, coef, equality = _coo(terms)
    members = pl.concat([c.select("table_id", "codes", "cell") for c in with_ids.values()])
    disclosure = release["disclosure"]
    spread = disclosure["rounding_base"] - 1 if disclosure["method"] == "rounding" else 0
    return PublishedSystem(cells, row, col, coef, equality, members, metadata, spread)


def _cube(release_dir: Path, table: dict, totals: set[str], symbol: str) -> pl.DataFrame:
    """Every cell of a table's cube with its state and shown value, and its key."""
    table_id = table["table_id"]
    dims = [d["name"] for d in table["dimensions"]]
    path = release_dir / "csv" / f"{table_id}.csv"
    try:
        published = pl.read_csv(path, infer_schema=False, empty_string_is_null=False)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise RegmigError(f"{path}: cannot read a release table ({exc})") from exc
    missing = [c for c in (*dims, "value", "obs_status") if c not in published.columns]
    if missing:
        raise RegmigError(f"{path}: column {missing[0]} missing")
    grid = pl.DataFrame({dims[0]: table["dimensions"][0]["codes"]})
    for dim in table["dimensions"][1:]:
        grid = grid.join(pl.DataFrame({dim["name"]: dim["codes"]}), how="cross")
    joined = grid.join(published.select(*dims, "value", "obs_status").with_columns(
        pl.lit(True).alias("in_csv")), on=dims, how="left")
    if joined.height != grid.height:
        raise RegmigError(f"{path}: a cell appears twice")
    state = (pl.when(pl.col("in_csv").is_null()).then(pl.lit("hidden"))
             .when(pl.col("obs_status") == symbol).then(pl.lit("confidential"))
             .otherwise(pl.lit("shown")))
    identity = [
        pl.when(pl.col(d).is_in(list(totals))).then(pl.lit(""))
        .otherwise(pl.lit(f"{d}=") + pl.col(d) + pl.lit(";"))
        for d in sorted(dims)
    ]
    out = joined.with_columns(
        state.alias("state"),
        (pl.lit(f"{table['unit']}|{table['population']}|") + pl.concat_str(identity))
        .alias("key"),
        pl.concat_str([pl.lit(f"{d}=") + pl.col(d) + pl.lit(";") for d in dims]).alias(
            "codes"),
        pl.lit(table_id).alias("table_id"),
    )
    bad = out.filter((pl.col("state") == "shown") & ~pl.col("value").str.contains(r"^\d+$"))
    if bad.height:
        raise RegmigError(f"{path}: value {bad['value'][0]!r} is neither a count nor "
                          f"confidential ({symbol!r})")
    return out.with_columns(pl.when(pl.col("state") == "shown").then(pl.col("value"))
                            .cast(pl.Float64).alias("shown"))


def _terms(frame: pl.DataFrame, relation: pl.Expr, cell: str, coef: float,
           equality: bool) -> pl.DataFrame:
    return frame.select(relation.alias("relation"), pl.col(cell).alias("cell"),
                        pl.lit(coef).alias("coef"), pl.lit(equality).alias("equality"))


def _dimension_relations(table: dict, cube: pl.DataFrame) -> list[pl.DataFrame]:
    out = []
    names = [d["name"] for d in table["dimensions"]]
    for dim in table["dimensions"]:
        links = [(parent, child) for parent, children in dim["hierarchy"].items()
                 for child in children]
        if not links:
            continue
        others = [n for n in names if n != dim["name"]]
        tree = pl.DataFrame(links, schema={"parent": pl.Utf8, "child": pl.Utf8},
                            orient="row")
        parts = cube.join(tree, left_on=dim["name"], right_on="child").select(
            *others, "parent", pl.col("cell").alias("part"))
        pairs = parts.join(cube.select(*others, pl.col(dim["name"]).alias("parent"),
                                       pl.col("cell").alias("total")),
                           on=[*others, "parent"])
        name = pl.lit(f"{table['table_id']}:{dim['name']}:") + pl.col("total").cast(pl.Utf8)
        totals = pairs.unique("total")
        if dim["additive"]:
            out += [_terms(totals, name, "total", 1.0, True),
                    _terms(pairs, name, "part", -1.0, True)]
        else:
            each = name + pl.lit(":") + pl.col("part").cast(pl.Utf8)
            out += [_terms(pairs, each, "total", 1.0, False),
                    _terms(pairs, each, "part", -1.0, False),
                    _terms(totals, name, "total", -1.0, False),
                    _terms(pairs, name, "part", 1.0, False)]
    return out


def _rules(table: dict, cubes: dict[str, pl.DataFrame]) -> list[pl.DataFrame]:
    out = []
    for rule in table.get("rules", []):
        if rule["kind"] != "at_most" or rule["table"] not in cubes:
            raise RegmigError(f"release metadata: table {table['table_id']} states a rule "
                              f"this audit cannot read: {rule}")
        cells = cubes[table["table_id"]]
        for dim, code in rule["where"].items():
            cells = cells.filter(pl.col(dim) == code)
        on = list(rule["on"])
        pairs = cells.select(*on, pl.col("cell").alias("small")).join(
            cubes[rule["table"]].select(*on, pl.col("cell").alias("large")), on=on)
        name = pl.lit(f"{table['table_id']}<={rule['table']}:") + pl.col("small").cast(
            pl.Utf8)
        out += [_terms(pairs, name, "large", 1.0, False),
                _terms(pairs, name, "small", -1.0, False)]
    return out


def _coo(terms: list[pl.DataFrame]) -> tuple[np.ndarray, ...]:
    """Rows numbered, each distinct relation once."""
    if not terms:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0), np.zeros(0, dtype=bool)
    frame = pl.concat(terms).unique()
    signature = frame.sort("cell").group_by("relation").agg(
        pl.concat_str(pl.col("cell").cast(pl.Utf8), pl.lit("*"), pl.col("coef").cast(pl.Utf8))
        .str.join(" ").alias("sig"), pl.col("equality").first())
    kept = (signature.sort("relation").unique(["sig", "equality"], keep="first")
            .sort("relation").with_row_index("row").select("relation", "row", "equality"))
    coo = frame.drop("equality").join(kept, on="relation").sort("row", "cell")
    rows = kept.sort("row")
    return (coo["row"].to_numpy().astype(np.int64), coo["cell"].to_numpy().astype(np.int64),
            coo["coef"].to_numpy().astype(np.float64), rows["equality"].to_numpy())
