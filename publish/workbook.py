"""The release workbook: one sheet per table, named by the table's id, for people.

Values are numeric cells (a confidential cell shows the symbol), so a reader can sum
them. The UN tables keep the questionnaire's layout, with each cell's letter (A-J) in a
column of its own beside the value; the other tables are cross-tables, the first
breakdown down the rows, the others across, each code with its label beside or under
it (country names from pycountry). Header rows and label columns are frozen.
"""

from __future__ import annotations

from itertools import product
from pathlib import Path
from typing import TYPE_CHECKING, Any

import xlsxwriter

from regmig.publish.classifications import FOREIGN, NATIONAL, TOTAL, UNKNOWN
from regmig.publish.labels import label
from regmig.publish.metadata import TableMetadata

if TYPE_CHECKING:
    from regmig.publish.export import ReleaseTable

#: Excel's limit on a sheet name (table ids are kept within it).
MAX_SHEET_NAME = 31

_UN_ROWS = ((NATIONAL, "C) National citizens"), (FOREIGN, "D) Foreign citizens"),
            (UNKNOWN, "Citizenship unknown"), (TOTAL, "Total"))
_UN_COLUMNS = ((NATIONAL, "A) Native-born"), (FOREIGN, "B) Foreign-born"),
               (UNKNOWN, "Country of birth unknown"), (TOTAL, "Total"))
#: First row of a table's body (rows 0-1: title, reference).
_TOP = 3


def write_workbook(path: Path, tables: list[ReleaseTable],
                   unavailable: list[TableMetadata]) -> None:
    book = xlsxwriter.Workbook(str(path))
    styles = {"bold": book.add_format({"bold": True}),
              "wrap": book.add_format({"text_wrap": True, "valign": "top"}),
              "count": book.add_format({"num_format": "#,##0"}),
              "confidential": book.add_format({"align": "right"})}
    contents = book.add_worksheet("Contents")
    contents.write_row(0, 0, ["Table", "Title", "Unit", "Reference", "Status", "Standard"],
                       styles["bold"])
    for i, meta in enumerate([t.metadata for t in tables] + unavailable, start=1):
        contents.write_url(i, 0, f"internal:'{sheet_name(meta.table_id)}'!A1",
                           string=meta.table_id)
        contents.write_row(i, 1, [meta.title, meta.unit, meta.reference, meta.status,
                                  meta.standard])
    contents.set_column(0, 0, 32)
    contents.set_column(1, 1, 60)
    contents.freeze_panes(1, 1)
    for table in tables:
        sheet = book.add_worksheet(sheet_name(table.spec.table_id))
        sheet.write(0, 0, table.spec.title, styles["bold"])
        sheet.write(1, 0, f"Reference: {table.metadata.reference}  Unit: {table.spec.unit}  "
                          f"Status: {table.metadata.status}")
        writer = _write_questionnaire if table.spec.letters else _write_cross_table
        row = writer(sheet, table, styles)
        _write_notes(sheet, row + 1, table.metadata)
    for meta in unavailable:
        sheet = book.add_worksheet(sheet_name(meta.table_id))
        sheet.write(0, 0, meta.title, styles["bold"])
        sheet.write(2, 0, meta.definition, styles["wrap"])
        sheet.set_column(0, 0, 100)
    book.close()


def sheet_name(table_id: str) -> str:
    """The sheet of a table is named by its id (ids are kept within Excel's limit)."""
    if len(table_id) > MAX_SHEET_NAME:
        raise ValueError(f"table id {table_id!r} is longer than an Excel sheet name allows")
    return table_id


def _value(sheet: Any, r: int, c: int, row: dict[str, Any] | None,
           styles: dict[str, Any]) -> None:
    """A count as a number; a confidential cell as its symbol."""
    if row is None:
        return
    if row["value"] is None:
        sheet.write_string(r, c, row["obs_status"], styles["confidential"])
    else:
        sheet.write_number(r, c, row["value"], styles["count"])


def _write_questionnaire(sheet: Any, table: ReleaseTable, styles: dict[str, Any]) -> int:
    """The UN layout: birth across, citizenship down; per column a letter and a value."""
    naturalised = "naturalised" in table.spec.dim_names
    cells = {}
    for row in table.cells.iter_rows(named=True):
        if naturalised and row["naturalised"] not in (TOTAL, "Y"):
            continue
        cells[(row["citizenship"], row["country_of_birth"],
               row.get("naturalised", TOTAL))] = row
    sheet.set_column(0, 0, 30)
    sheet.set_column(1, 2 * len(_UN_COLUMNS), 12)
    for j, (_, heading) in enumerate(_UN_COLUMNS):
        sheet.write(_TOP, 1 + 2 * j, "letter", styles["bold"])
        sheet.write(_TOP, 2 + 2 * j, heading, styles["bold"])
    r = _TOP + 1
    lines = [(citizenship, heading, TOTAL) for citizenship, heading in _UN_ROWS]
    if naturalised:
        lines.insert(1, (NATIONAL, "   of whom naturalised", "Y"))
    for citizenship, heading, kind in lines:
        sheet.write(r, 0, heading, styles["bold"] if kind == TOTAL else None)
        for j, (birth, _) in enumerate(_UN_COLUMNS):
            row = cells.get((citizenship, birth, kind))
            if row is not None and row["letter"]:
                sheet.write_string(r, 1 + 2 * j, row["letter"])
            _value(sheet, r, 2 + 2 * j, row, styles)
        r += 1
    sheet.freeze_panes(_TOP + 1, 1)
    return r


def _write_cross_table(sheet: Any, table: ReleaseTable, styles: dict[str, Any]) -> int:
    """First breakdown down the rows (code, label), the others across (codes, labels)."""
    dims = table.spec.dims
    first, rest = dims[0], dims[1:]
    # Only the released codes (a hidden aggregate, e.g. an age group, has no row).
    shown = {d.name: set(table.cells[d.name].to_list()) for d in dims}
    combos = (list(product(*[[c for c in d.codes if c in shown[d.name]] for d in rest]))
              if rest else [()])
    lookup = {tuple(row[d.name] for d in dims): row
              for row in table.cells.iter_rows(named=True)}
    sheet.write(_TOP, 0, first.label or first.name, styles["bold"])
    sheet.write(_TOP + 1, 0, "code", styles["bold"])
    sheet.write(_TOP + 1, 1, "label", styles["bold"])
    for j, combo in enumerate(combos, start=2):
        sheet.write(_TOP, j, " / ".join(combo) if combo else "value", styles["bold"])
        sheet.write(_TOP + 1, j, " / ".join(label(d.name, c) for d, c in
                                             zip(rest, combo, strict=True)))
    r = _TOP + 2
    for code in (c for c in first.codes if c in shown[first.name]):
        sheet.write_string(r, 0, code)
        sheet.write_string(r, 1, label(first.name, code))
        for j, combo in enumerate(combos, start=2):
            _value(sheet, r, j, lookup.get((code, *combo)), styles)
        r += 1
    sheet.set_column(1, 1, 28)
    sheet.freeze_panes(_TOP + 2, 2)
    return r


def _write_notes(sheet: Any, row: int, meta: TableMetadata) -> None:
    notes = [f"Definition: {meta.definition}", f"Unit: {meta.unit}",
             f"Residence rule: {meta.residence_rule}",
             "Sources: " + "; ".join(meta.sources)] + [f"Note: {n}" for n in meta.footnotes]
    for i, note in enumerate(notes):
        sheet.write(row + i, 0, note)
