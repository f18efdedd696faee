"""Each table in tau-argus's own input files, so an NSO can cross-check the protection.

    release/tau_argus/<table>.tab          the table's cells: codes; value; status
    release/tau_argus/<table>.rda          the metadata tau-argus reads for it (tabular)
    release/tau_argus/<table>.<dim>.hrc    a hierarchy per hierarchical breakdown

The release holds the protected table: a confidential cell has no value and the status
of an unsafe cell (the confidential symbol), the others "S" (safe). bench/
bench_tauargus.py protects the same tables with tau-argus from the microdata, with the
same .hrc hierarchies.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from regmig.publish.tables.cube import Dimension, TableSpec

#: tau-argus's hierarchy files mark each level below the total with this string.
HIER_LEAD = "@"
SEPARATOR = ";"
#: Status of a published (safe) cell in the .tab files.
SAFE = "S"


def root(dim: Dimension) -> str:
    """The dimension's grand total: the code that is nobody's part."""
    children = {c for _, kids in dim.parents for c in kids}
    return next(c for c in dim.codes if c not in children)


def hrc_lines(dim: Dimension) -> list[str]:
    """Codes below the total, each led by one HIER_LEAD per level below the first."""
    kids = dict(dim.parents)

    def walk(code: str, depth: int) -> list[str]:
        out = []
        for child in kids.get(code, ()):
            if child in dim.codes:
                out.append(HIER_LEAD * depth + child)
                out.extend(walk(child, depth + 1))
        return out

    return walk(root(dim), 0)


def hierarchical(dim: Dimension) -> bool:
    """More than one level below the total (flat breakdowns need no .hrc)."""
    return any(line.startswith(HIER_LEAD) for line in hrc_lines(dim))


def rda_text(spec: TableSpec, status_codes: dict[str, str]) -> str:
    """The tabular .rda of a table whose .tab columns are its dims, value, status."""
    lines = [f'    <SEPARATOR> "{SEPARATOR}"']
    lines += [f'    <{kind}> "{code}"' for kind, code in status_codes.items()]
    for dim in spec.dims:
        lines += [dim.name, "    <RECODEABLE>", f'    <TOTCODE> "{root(dim)}"']
        if hierarchical(dim):
            lines += ["    <HIERARCHICAL>",
                      f'    <HIERCODELIST> "{spec.table_id}.{dim.name}.hrc"',
                      f'    <HIERLEADSTRING> "{HIER_LEAD}"']
    lines += ["value", "    <NUMERIC>", "    <DECIMALS> 0", "status", "    <STATUS>"]
    return "\n".join(lines) + "\n"


def write_table(folder: Path, spec: TableSpec, cells: pl.DataFrame,
                status_codes: dict[str, str]) -> list[Path]:
    """Write one table's .tab, .rda and .hrc files; `cells` has dims, value, status."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for dim in spec.dims:
        if hierarchical(dim):
            path = folder / f"{spec.table_id}.{dim.name}.hrc"
            path.write_text("\n".join(hrc_lines(dim)) + "\n", encoding="utf-8")
            written.append(path)
    rda = folder / f"{spec.table_id}.rda"
    rda.write_text(rda_text(spec, status_codes), encoding="utf-8")
    tab = folder / f"{spec.table_id}.tab"
    cells.select(*spec.dim_names, pl.col("value").cast(pl.Utf8).fill_null(""), "status"
                 ).write_csv(tab, separator=SEPARATOR, include_header=False)
    return [*written, rda, tab]
