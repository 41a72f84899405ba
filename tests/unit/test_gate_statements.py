"""The gate's read path runs its statements hundreds of times a second: psycopg turns
a statement's text into the server's form once and keeps it, but only for statements
of up to MAX_CACHED_STATEMENT_LENGTH bytes and MAX_CACHED_STATEMENT_PARAMS values.
Past either, every read pays the conversion again (a tenth of a millisecond for the
snapshot), and nothing else would tell."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from psycopg import _queries
from sqlalchemy.dialects.postgresql import psycopg as pg

from gateway.repository import (
    _LOCK_LANE_AND_KEY,
    _SNAPSHOT_ROWS,
    _SNAPSHOT_ROWS_OF_COLOUR,
    _TRIP_ROWS,
    _TRIP_ROWS_OF_COLOUR,
    _WRITE_KEYED_PASSAGE,
    _WRITE_PASSAGE,
)

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
VALUES = {"area": "park", "plate": "苏E12345", "colour": "yellow", "today": date(2026, 11, 23),
          "until": NOW, "since": NOW, "id": 1, "read_id": "r1"}


@pytest.mark.parametrize("statement", [
    _SNAPSHOT_ROWS, _SNAPSHOT_ROWS_OF_COLOUR, _TRIP_ROWS, _TRIP_ROWS_OF_COLOUR,
    _LOCK_LANE_AND_KEY, _WRITE_PASSAGE, _WRITE_KEYED_PASSAGE],
    ids=["snapshot", "snapshot_of_colour", "trips", "trips_of_colour", "lock_lane",
         "write_passage", "write_keyed_passage"])
def test_a_read_path_statement_is_converted_once(statement: object) -> None:
    compiled = statement.compile(dialect=pg.dialect())  # type: ignore[attr-defined]
    wanted = {k: VALUES.get(k) for k in compiled.binds}
    sent = compiled.construct_expanded_state(wanted)  # as run: IN lists spelled out
    assert len(sent.statement.encode()) <= _queries.MAX_CACHED_STATEMENT_LENGTH
    assert len(sent.parameters) <= _queries.MAX_CACHED_STATEMENT_PARAMS
