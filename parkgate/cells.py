"""Spreadsheet cells that stay data: every export (audit, records, reports) writes
user-supplied text through here, so a name like `=HYPERLINK(…)` or
`-2+3+cmd|' /C calc'!A0` is never run by the program that opens the file.

CSV (OWASP's CSV-injection guidance): a cell that begins with `=`, `+`, `-`, `@`, a
tab or a carriage return gets a leading `'`; a cell that already begins with `'`
gets one more, so the rule can be undone exactly (`csv_value`), which is what the
offline audit verifier does before hashing. XLSX: text is written as a string cell,
never as a formula, so it needs no prefix at all.
"""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"
# What a cell may not begin with unprefixed (a formula start, or the prefix itself).
PREFIXED = (*FORMULA_STARTS, QUOTE)


def csv_cells(texts: list[str]) -> list[str]:
    """Texts as CSV cells no spreadsheet will evaluate, a row at a time without a call
    per cell: an audit export runs this for every one of a year's events."""
    return [QUOTE + t if t.startswith(PREFIXED) else t for t in texts]


def csv_cell(text: str) -> str:
    """A text as a CSV cell no spreadsheet will evaluate."""
    return csv_cells([text])[0]


def csv_value(cell: str) -> str:
    """The text a CSV cell written by csv_cell stands for."""
    return cell[1:] if cell[:1] == QUOTE else cell


def xlsx_row(sheet: Any, values: list[Any]) -> list[Any]:
    """Cells for an openpyxl write-only sheet: text as string cells (never formulas),
    numbers and dates as themselves."""
    from openpyxl.cell import WriteOnlyCell

    row = []
    for value in values:
        if isinstance(value, str):
            cell = WriteOnlyCell(sheet, value=value)
            # openpyxl reads a leading "=" as a formula; the data type says otherwise.
            cell.data_type = "s"
            row.append(cell)
        else:
            row.append(value)
    return row
