"""What an outsider reads: the published cells and the relations the metadata states.

Every table's cube is the product of its dimensions' codes (metadata); a cell of the cube
is *shown* (a number in the CSV), *confidential* (the symbol), or *hidden* (absent from
the CSV: a cell kept only for the sums, e.g. citizens not naturalised). Two cells of the
same population whose codes agree outside the total codes are the same count, in any
table (the metadata says so). Relations, each ``sum coef * cell`` = 0 or >= 0:
- an additive dimension: total = sum of its parts;
- a non-additive one: each part <= total <= sum of the parts;
- a table's rules: each cell (restricted to `where`) <= the cell of the bound table
  with the same codes in `on` (kind "at_most"); a table by age reached during the year
  against its table by completed age (kind "age_reached"): each unit's age reached is
  its completed age or one more, so with N(a) the units of completed age a reaching
  a + 1 (unknowns of the relation, state "relation", by the table's other dimensions
  and additive over them), an age code spanning the years [first, last] has
  reached = completed - N(last) + N(first - 1), N(last) <= completed and
  N(first - 1) <= reached; the `unchanged` codes are equal in both.
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

    #: cell, key, table_id (first holding it), state (shown | confidential | hidden |
    #: relation: an unknown a rule introduces, not a count of the release), shown
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
    # The unknowns N(a) of each age_reached rule, as cubes of their own (never published).
    unknowns = {t["table_id"]: _reaching_next(t, rule, totals) for t in tables
                for rule in t.get("rules", []) if rule.get("kind") == "age_reached"}
    stacked = pl.concat([c.select("key", "table_id", "state", "shown", "codes")
                         for c in [*cubes.values(), *unknowns.values()]])
    shown_twice = stacked.filter(pl.col("state") == "shown").group_by("key").agg(
        pl.col("shown").n_unique().alias("n")).filter(pl.col("n") > 1)
    if shown_twice.height:
        raise RegmigError(f"release: one count is shown with two values: "
                          f"{shown_twice['key'][0]}")
    # A count is known if any table shows it, hidden only if every table hides it.
    rank = pl.col("state").replace_strict({"shown": 0, "confidential": 1, "hidden": 2,
                                           "relation": 3}, return_dtype=pl.Int32)
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
    for table_id, cube in unknowns.items():
        table = next(t for t in tables if t["table_id"] == table_id)
        counted = cube.join(ids, on="key")
        terms.extend(_dimension_relations(_next_age_table(table), counted))
        terms.extend(_age_reached(table, with_ids, counted))
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
        if rule["kind"] == "age_reached" and rule["table"] in cubes:
            continue   # read_release states it, with its unknowns
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


#: The dimension of the unknowns N(a) of an age_reached rule: the single year a.
_NEXT_AGE = "reaching_next_age_from"


def _age_rule(table: dict) -> dict:
    return next(r for r in table["rules"] if r["kind"] == "age_reached")


def _next_age_years(rule: dict) -> list[int]:
    """The single years a whose N(a) the rule's age codes use."""
    ages = rule["ages"]
    return sorted({a["last"] for a in ages if a["last"] is not None}
                  | {a["first"] - 1 for a in ages if a["first"] > 0})


def _next_age_table(table: dict) -> dict:
    """The unknowns' cube as a table: the single year, and the table's other dimensions
    with their hierarchies (so N(a) adds up over them as every count does)."""
    rule = _age_rule(table)
    others = [d for d in table["dimensions"] if d["name"] != rule["reached"]]
    return {"table_id": f"{table['table_id']}:{_NEXT_AGE}",
            "dimensions": [{"name": _NEXT_AGE, "hierarchy": {}, "additive": True,
                            "codes": [str(a) for a in _next_age_years(rule)]}, *others]}


def _reaching_next(table: dict, rule: dict, totals: set[str]) -> pl.DataFrame:
    """Every N(a) of the rule by the other dimensions' codes: unknown to any reader."""
    names = [d["name"] for d in table["dimensions"]]
    if rule["reached"] not in names:
        raise RegmigError(f"release metadata: table {table['table_id']} states an "
                          f"age_reached rule on a dimension it lacks: {rule['reached']}")
    cube_of = _next_age_table(table)
    dims = cube_of["dimensions"]
    grid = pl.DataFrame({dims[0]["name"]: dims[0]["codes"]})
    for dim in dims[1:]:
        grid = grid.join(pl.DataFrame({dim["name"]: dim["codes"]}), how="cross")
    identity = [
        pl.when(pl.col(d).is_in(list(totals))).then(pl.lit(""))
        .otherwise(pl.lit(f"{d}=") + pl.col(d) + pl.lit(";"))
        for d in sorted(d["name"] for d in dims)
    ]
    return grid.with_columns(
        (pl.lit(f"{table['unit']}|{table['population']}|") + pl.concat_str(identity))
        .alias("key"),
        pl.lit(cube_of["table_id"]).alias("table_id"),
        pl.lit("relation").alias("state"),
        pl.lit(None, dtype=pl.Float64).alias("shown"),
        pl.lit("").alias("codes"),
    )


def _age_reached(table: dict, cubes: dict[str, pl.DataFrame], unknowns: pl.DataFrame
                 ) -> list[pl.DataFrame]:
    """reached - completed + N(last) - N(first - 1) = 0 per age code of the table by
    age reached; completed - N(last) >= 0; reached - N(first - 1) >= 0."""
    rule = _age_rule(table)
    completed = cubes[rule["table"]]
    others = [d["name"] for d in table["dimensions"] if d["name"] != rule["reached"]]
    if rule["completed"] not in completed.columns or not set(others) <= set(
            completed.columns):
        raise RegmigError(f"release metadata: the age_reached rule of "
                          f"{table['table_id']} does not match the dimensions of "
                          f"{rule['table']}")
    spans = pl.DataFrame(
        [(a["code"], str(a["last"]) if a["last"] is not None else None,
          str(a["first"] - 1) if a["first"] > 0 else None) for a in rule["ages"]]
        + [(code, None, None) for code in rule["unchanged"]],
        schema={"code": pl.Utf8, "leaving": pl.Utf8, "entering": pl.Utf8}, orient="row")
    n = unknowns.select(*others, pl.col(_NEXT_AGE).alias("year"), "cell")
    pairs = (
        cubes[table["table_id"]].select(*others, pl.col(rule["reached"]).alias("code"),
                                        pl.col("cell").alias("reached"))
        .join(spans, on="code")
        .join(completed.select(*others, pl.col(rule["completed"]).alias("code"),
                               pl.col("cell").alias("completed")), on=[*others, "code"])
        .join(n.rename({"year": "leaving", "cell": "n_leaving"}), on=[*others, "leaving"],
              how="left")
        .join(n.rename({"year": "entering", "cell": "n_entering"}),
              on=[*others, "entering"], how="left")
    )
    name = pl.lit(f"{table['table_id']}~{rule['table']}:") + pl.col("reached").cast(pl.Utf8)
    out_ = pairs.filter(pl.col("n_leaving").is_not_null())
    in_ = pairs.filter(pl.col("n_entering").is_not_null())
    return [_terms(pairs, name, "reached", 1.0, True),
            _terms(pairs, name, "completed", -1.0, True),
            _terms(out_, name, "n_leaving", 1.0, True),
            _terms(in_, name, "n_entering", -1.0, True),
            _terms(out_, name + pl.lit(":leaving"), "completed", 1.0, False),
            _terms(out_, name + pl.lit(":leaving"), "n_leaving", -1.0, False),
            _terms(in_, name + pl.lit(":entering"), "reached", 1.0, False),
            _terms(in_, name + pl.lit(":entering"), "n_entering", -1.0, False)]


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
