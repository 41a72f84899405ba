"""The export format of audit events: one row per event with everything its hash
covers, so a file can be checked without the database (audit.offline).

Columns: seq, at (ISO 8601, for people), at_us (what is hashed), BODY_COLUMNS,
trip_prev_leaf (the trip's back-link, hashed too), prev_hash, hash, and for an
excerpt (a filtered export) each row's leaf_index and proof: its audit path to the
checkpoint the excerpt is made against, base64 hashes leaf-side first. Before the
column header, `#key,value` rows say what the file is (PREAMBLE: format, the filter
that produced it, the tree size its proofs are against, that checkpoint as signed);
in XLSX they are the first sheet, "about". NULL is written `\\N`; a text that itself begins with a backslash
gets one more, so NULL and the text "\\N" never look alike. In CSV a cell that a
spreadsheet would take for a formula carries a leading `'` (parkgate.cells), which
read_rows() takes off again; XLSX cells are strings and need none.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from base64 import b64encode
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from parkgate.cells import csv_cells, csv_value, xlsx_row

from .chain import BODY_COLUMNS, EPOCH, micros

COLUMNS = ("seq", "at", "at_us", *BODY_COLUMNS, "trip_prev_leaf", "prev_hash", "hash",
           "leaf_index", "proof")
# Exports from before the Merkle tree: read as rows without back-links or proofs.
LEGACY_COLUMNS = ("seq", "at", "at_us", *BODY_COLUMNS, "prev_hash", "hash")
FORMAT = "parkgate-audit-export/2"
PREAMBLE = ("format", "filter", "tree_size", "checkpoint")
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


def event_cells(row: Any, proof: Sequence[bytes] | None = None) -> list[str]:
    """One event as export cells, from a tuple (seq, at, BODY_COLUMNS…, trip_prev_leaf,
    prev_hash, hash) as audit.query.iter_events yields them, with its audit path when
    the export is an excerpt."""
    seq, at, *body, trip_prev, prev_hash, event_hash = row
    # In UTC whatever the database session's time zone: the same file from any server.
    at = at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)
    # The common cases inline (most cells are NULL, ints or plain text): this line runs
    # for every cell of a year's export.
    return [str(seq), at.isoformat(), str(micros(at)),
            *[NULL_CELL if v is None else v if v.__class__ is str and v[:1] != "\\"
              else encode(v) for v in body],
            NULL_CELL if trip_prev is None else str(trip_prev), prev_hash, event_hash,
            NULL_CELL if proof is None else str(seq - 1),
            NULL_CELL if proof is None else " ".join(b64encode(h).decode() for h in proof)]


def preamble(filter_params: dict[str, str], tree_size: int | None,
             checkpoint: str | None) -> dict[str, str]:
    return {"format": FORMAT, "filter": json.dumps(filter_params, ensure_ascii=False,
                                                   sort_keys=True),
            "tree_size": "" if tree_size is None else str(tree_size),
            "checkpoint": checkpoint or ""}


CSV_LINE_END = "\n"


def csv_writer(buffer: io.StringIO) -> Any:
    return csv.writer(buffer, lineterminator=CSV_LINE_END)


def csv_head(meta: dict[str, str]) -> str:
    """What an export's CSV begins with: a BOM (so spreadsheet programs read the
    Chinese), the preamble's `#key,value` rows and the column header."""
    buffer = io.StringIO()
    writer = csv_writer(buffer)
    for key in PREAMBLE:
        writer.writerow([f"#{key}", meta.get(key, "")])
    writer.writerow(COLUMNS)
    return "\ufeff" + buffer.getvalue()


def csv_chunks(rows: Iterable[list[str]], meta: dict[str, str], batch: int = 1000
               ) -> Iterator[str]:
    """CSV text in pieces of `batch` rows after csv_head, every cell neutralised
    (parkgate.cells)."""
    yield csv_head(meta)
    buffer = io.StringIO()
    writer = csv_writer(buffer)
    pending: list[list[str]] = []
    for row in rows:
        pending.append(csv_cells(row))
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


def xlsx_chunks(rows: Iterable[list[str]], meta: dict[str, str],
                chunk: int = 256 * 1024) -> Iterator[bytes]:
    """An XLSX workbook built on disk (write-only mode keeps rows out of memory),
    then read back in pieces; a new sheet every XLSX_MAX_ROWS events."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    about = book.create_sheet("about")
    for key in PREAMBLE:
        about.append([f"#{key}", meta.get(key, "")])
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


def read_export(path: str) -> tuple[dict[str, str], Iterator[dict[str, str | None]]]:
    """An export's preamble (empty for a file from before it) and its rows as
    {column: value} with NULLs restored; legacy rows carry no back-link or proof."""
    if path.lower().endswith(".xlsx"):
        return _xlsx_export(path)
    handle = open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115  # closed by _csv_rows
    reader = csv.reader(handle)
    meta: dict[str, str] = {}
    header = next(reader, None)
    while header and header[0].startswith("#") and len(header) == 2:
        meta[header[0][1:]] = header[1]
        header = next(reader, None)
    columns = _columns(tuple(header or ()), "the file")
    return meta, _csv_rows(handle, reader, columns)


def read_rows(path: str) -> Iterator[dict[str, str | None]]:
    return read_export(path)[1]


def _columns(header: tuple[Any, ...], where: str) -> tuple[str, ...]:
    if header == COLUMNS:
        return COLUMNS
    if header == LEGACY_COLUMNS:
        return LEGACY_COLUMNS
    raise ValueError(f"{where}: not an audit export (unexpected columns)")


def _complete(row: dict[str, str | None]) -> dict[str, str | None]:
    for column in ("trip_prev_leaf", "leaf_index", "proof"):
        row.setdefault(column, None)
    return row


def _csv_rows(handle: Any, reader: Any, columns: tuple[str, ...]
              ) -> Iterator[dict[str, str | None]]:
    with handle:
        for cells in reader:
            if len(cells) != len(columns):
                raise ValueError(f"line {reader.line_num}: {len(cells)} cells, "
                                 f"expected {len(columns)}")
            yield _complete({c: decode(csv_value(v))
                             for c, v in zip(columns, cells, strict=True)})


def _xlsx_export(path: str) -> tuple[dict[str, str], Iterator[dict[str, str | None]]]:
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True)
    meta: dict[str, str] = {}
    if book.worksheets and book.worksheets[0].title == "about":
        for key, value, *_ in book.worksheets[0].iter_rows(values_only=True):
            if isinstance(key, str) and key.startswith("#"):
                meta[key[1:]] = "" if value is None else str(value)
    return meta, _xlsx_rows(book)


def _xlsx_rows(book: Any) -> Iterator[dict[str, str | None]]:
    try:
        for sheet in book.worksheets:
            if sheet.title == "about":
                continue
            rows = sheet.iter_rows(values_only=True)
            columns = _columns(tuple(next(rows, ()) or ()), f"sheet {sheet.title}")
            for cells in rows:
                yield _complete({c: decode("" if v is None else str(v))
                                 for c, v in zip(columns, cells, strict=True)})
    finally:
        book.close()
