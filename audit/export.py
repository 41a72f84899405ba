"""The export format of audit events: one row per event with everything its hash
covers, so a file can be checked without the database (audit.offline).

Columns: seq, at (ISO 8601, for people), at_us (what is hashed), BODY_COLUMNS,
prev_hash, hash. NULL is written `\\N`; a text that itself begins with a backslash
gets one more, so NULL and the text "\\N" never look alike. In CSV a cell that a
spreadsheet would take for a formula carries a leading `'` (parkgate.cells), which
read_rows() takes off again; XLSX cells are strings and need none.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from parkgate.cells import csv_cell, csv_value, xlsx_row

from .chain import BODY_COLUMNS, EPOCH, micros

COLUMNS = ("seq", "at", "at_us", *BODY_COLUMNS, "prev_hash", "hash")
NULL_CELL = "\\N"
XLSX_MAX_ROWS = 1_048_575  # a sheet's limit, less its header row


def encode(value: object) -> str:
    if value is None:
        return NULL_CELL
    text = value if isinstance(value, str) else str(value)
    return "\\" + text if text[:1] == "\\" else text


def decode(cell: str) -> str | None:
    if cell == NULL_CELL:
        return None
    return cell[1:] if cell.startswith("\\\\") else cell


def instant(at_us: int) -> datetime:
    return EPOCH + timedelta(microseconds=at_us)


def event_cells(row: Any) -> list[str]:
    """One event as export cells, from a tuple (seq, at, BODY_COLUMNS…, prev_hash, hash)
    as audit.query.iter_events yields them."""
    seq, at, *body, prev_hash, event_hash = row
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    # The common cases inline (most cells are NULL, ints or plain text): this line runs
    # for every cell of a year's export.
    return [str(seq), at.isoformat(), str(micros(at)),
            *[NULL_CELL if v is None else v if v.__class__ is str and v[:1] != "\\"
              else encode(v) for v in body], prev_hash, event_hash]


def csv_chunks(rows: Iterable[list[str]], batch: int = 1000) -> Iterator[str]:
    """CSV text in pieces of `batch` rows (a BOM first, so spreadsheet programs read
    the Chinese), every cell neutralised (parkgate.cells)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    yield "\ufeff" + buffer.getvalue()
    pending: list[list[str]] = []
    for row in rows:
        pending.append([csv_cell(v) for v in row])
        if len(pending) == batch:
            buffer.seek(0)
            buffer.truncate()
            writer.writerows(pending)
            pending.clear()
            yield buffer.getvalue()
    if pending:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(pending)
        yield buffer.getvalue()


def xlsx_chunks(rows: Iterable[list[str]], chunk: int = 256 * 1024) -> Iterator[bytes]:
    """An XLSX workbook built on disk (write-only mode keeps rows out of memory),
    then read back in pieces; a new sheet every XLSX_MAX_ROWS events."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet, count, number = None, 0, 0
    for row in rows:
        if sheet is None or count == XLSX_MAX_ROWS:
            number += 1
            sheet = book.create_sheet(f"audit-{number}")
            sheet.append(list(COLUMNS))
            count = 0
        sheet.append(xlsx_row(sheet, row))
        count += 1
    if sheet is None:
        book.create_sheet("audit-1").append(list(COLUMNS))
    with tempfile.TemporaryFile() as spool:
        book.save(spool)
        spool.seek(0)
        while data := spool.read(chunk):
            yield data


def read_rows(path: str) -> Iterator[dict[str, str | None]]:
    """Rows of a CSV or XLSX export as {column: value} with NULLs restored."""
    if path.lower().endswith(".xlsx"):
        yield from _xlsx_rows(path)
        return
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None or tuple(header) != COLUMNS:
            raise ValueError("not an audit export: unexpected columns")
        for line, cells in enumerate(reader, start=2):
            if len(cells) != len(COLUMNS):
                raise ValueError(f"line {line}: {len(cells)} cells, expected {len(COLUMNS)}")
            yield {c: decode(csv_value(v)) for c, v in zip(COLUMNS, cells, strict=True)}


def _xlsx_rows(path: str) -> Iterator[dict[str, str | None]]:
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True)
    try:
        for sheet in book.worksheets:
            rows = sheet.iter_rows(values_only=True)
            header = next(rows, None)
            if header is None or tuple(header) != COLUMNS:
                raise ValueError(f"sheet {sheet.title}: not an audit export")
            for cells in rows:
                yield {c: decode("" if v is None else str(v))
                       for c, v in zip(COLUMNS, cells, strict=True)}
    finally:
        book.close()

