"""A whole export's CSV rows rendered by the database, byte for byte what
audit.export.event_cells and csv_chunks write for the same events.

An export of a year's events spent most of its time turning each row into Python
objects and back into text, cell by cell. Here the database writes each event's CSV
line itself (the NULL and backslash encoding, the spreadsheet neutralisation of
parkgate.cells, the csv module's quoting) and Python only joins lines. Exports with
proofs (excerpts) still go through event_cells: their proofs are computed in Python.
Both dialects run the same statement; only the instant's rendering differs. The SQL
is built from this package's constants alone: filter values travel as parameters.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from functools import cache

from sqlalchemy import ColumnClause, literal_column
from sqlalchemy.orm import Session

from models import AuditEvent
from parkgate.cells import PREFIXED, QUOTE

from .chain import BODY_COLUMNS, sql_instant
from .export import CSV_LINE_END, NULL_CELL, csv_writer
from .query import AuditFilter, events_statement, keyset_batches

ESCAPE = NULL_CELL[0]  # a text beginning with it gets one more (export.encode)


@cache
def quoted_by_csv() -> tuple[str, ...]:
    """The characters that make the export's csv writer quote a cell, found by asking
    it (Python versions differ on a carriage return)."""
    out = []
    for char in (",", '"', "\n", "\r"):
        buffer = io.StringIO()
        csv_writer(buffer).writerow([f"a{char}b", "c"])
        if buffer.getvalue().startswith('"'):
            out.append(char)
    return tuple(out)


def _char(c: str, dialect: str) -> str:
    if c.isprintable():
        return "'" + c.replace("'", "''") + "'"
    return f"{'chr' if dialect == 'postgresql' else 'char'}({ord(c)})"


def _cell(value: str, dialect: str) -> str:
    """SQL for one text value as its export cell: NULL as NULL_CELL, a leading
    backslash doubled, a formula start neutralised, quoted as the csv module would."""
    find = "strpos" if dialect == "postgresql" else "instr"
    prefix = " ".join(
        [f"WHEN {_char(ESCAPE, dialect)} THEN {_char(ESCAPE, dialect)}"]
        + [f"WHEN {_char(c, dialect)} THEN {_char(QUOTE, dialect)}"
           for c in PREFIXED])
    prefix = f"(CASE substr({value}, 1, 1) {prefix} ELSE '' END)"
    needs_quotes = " OR ".join(f"{find}({value}, {_char(c, dialect)}) > 0"
                               for c in quoted_by_csv())
    return (f"CASE WHEN {value} IS NULL THEN {_char(NULL_CELL, dialect)} "
            f"WHEN {needs_quotes} THEN '\"' || {prefix} || replace({value}, '\"', '\"\"') || '\"' "
            f"ELSE {prefix} || {value} END")


def _iso_instant(dialect: str) -> str:
    """SQL for `at` as datetime.isoformat() writes it in UTC (no fraction when whole)."""
    if dialect == "postgresql":
        utc = "(at AT TIME ZONE 'UTC')"
        fraction = f"to_char({utc}, 'US')"
        return (f"to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN {fraction} = "
                f"'000000' THEN '' ELSE '.' || {fraction} END || '+00:00'")
    fraction = "substr(at, 21, 6)"
    return (f"substr(at, 1, 10) || 'T' || substr(at, 12, 8) || CASE WHEN {fraction} = "
            f"'000000' THEN '' ELSE '.' || {fraction} END || '+00:00'")


@cache
def line_sql(dialect: str) -> str:
    """SQL for one event's export line (without its line end), the columns of
    audit.export.COLUMNS with no proof."""
    cells = ["CAST(seq AS TEXT)", _iso_instant(dialect),
             _cell(f"CAST({sql_instant(dialect)} AS TEXT)", dialect),
             *(_cell(f"CAST({c} AS TEXT)", dialect) for c in BODY_COLUMNS),
             _cell("CAST(trip_prev_leaf AS TEXT)", dialect), "prev_hash", "hash",
             _char(NULL_CELL, dialect), _char(NULL_CELL, dialect)]
    return " || ',' || ".join(f"({c})" for c in cells)


def csv_lines(session: Session, f: AuditFilter, batch: int = 2000) -> Iterator[str]:
    """The export's rows for every event matching `f`, in chain order, as CSV text a
    batch at a time (memory stays flat)."""
    line: ColumnClause[str] = literal_column(line_sql(session.get_bind().dialect.name))
    stmt = events_statement(session, f).with_only_columns(AuditEvent.seq, line)
    for rows in keyset_batches(session, stmt, batch):
        yield CSV_LINE_END.join(r[1] for r in rows) + CSV_LINE_END
