"""The audit events as a report people read: one row per event in chain order, with
the time in park time, who acted, the action and every detail in the reader's
language, as the search page shows them. Not for verification: the export (with
hashes and proofs) is what audit.offline checks; a report points back to it by each
event's number."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from kernel.errors import N_

from .chain import BODY_COLUMNS

ROWS_MAX = 50_000  # a report is read by people; more than this is a job for the export
HEADER = (N_("Event #"), N_("Time (park time, UTC+8)"), N_("Who"), N_("Action"), N_("Subject"), N_("Lane"),
          N_("Plate"), N_("Trip"), N_("Details"))
_AT = {name: i + 2 for i, name in enumerate(BODY_COLUMNS)}  # after seq and at


def report_cells(row: Any, *, when: Callable[[Any], str], who: Callable[[Any, Any], str],
                 action: Callable[[str], str], subject: Callable[[str | None], str],
                 lane: Callable[[int | None], str],
                 details: Callable[[str], Iterable[Any]]) -> list[Any]:
    """One event (a tuple as audit.query.iter_events yields it) as report cells."""
    subject_kind, subject_id = row[_AT["subject_kind"]], row[_AT["subject_id"]]
    shown = " ".join(part for part in (subject(subject_kind), subject_id or "") if part)
    lines = [f"{f.label}: {f.value}" for f in details(row[_AT["payload"]])]
    return [row[0], when(row[1]), who(row[_AT["actor_kind"]], row[_AT["actor_name"]]),
            action(row[_AT["action"]]), shown, lane(row[_AT["lane_id"]]),
            row[_AT["plate"]] or "", row[_AT["trip_id"]] or "", "\n".join(lines)]


def xlsx_report(rows: Iterable[list[Any]], header: list[str], sheet_name: str,
                more: str | None, about: Sequence[tuple[str, str]] = (),
                about_name: str = "about", chunk: int = 256 * 1024) -> Iterator[bytes]:
    """The report as an XLSX workbook: a header row, the events, and `more` (that
    further events matched) as a last row when the report was cut; `about` (what the
    report covers: filter, when, by whom) on a sheet of its own after it."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment

    from parkgate.cells import xlsx_row

    book = Workbook(write_only=True)
    sheet = book.create_sheet(sheet_name[:31])
    sheet.column_dimensions["B"].width = 20
    sheet.column_dimensions["C"].width = 24
    sheet.column_dimensions["D"].width = 18
    sheet.column_dimensions["I"].width = 80
    sheet.append(xlsx_row(sheet, header))
    wrap = Alignment(wrap_text=True, vertical="top")
    for cells in rows:
        row = xlsx_row(sheet, cells)
        row[-1].alignment = wrap  # the details, one per line
        sheet.append(row)
    if more:
        sheet.append(xlsx_row(sheet, ["", more]))
    if about:
        notes = book.create_sheet(about_name[:31])
        notes.column_dimensions["A"].width = 16
        notes.column_dimensions["B"].width = 60
        for key, value in about:
            notes.append(xlsx_row(notes, [key, value]))
    with tempfile.TemporaryFile() as spool:
        book.save(spool)
        spool.seek(0)
        while data := spool.read(chunk):
            yield data
