"""The least a gate decision could cost: the same HTTP request answered with one
indexed look-up, one insert and one commit straight through psycopg. The gate
benchmark serves this under the same gunicorn settings as the real app."""

from __future__ import annotations

import json
import os
import threading
from typing import Any

import psycopg

DSN = os.environ["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
_local = threading.local()


def _conn() -> psycopg.Connection[Any]:
    conn = getattr(_local, "conn", None)
    if conn is None or conn.closed:
        conn = _local.conn = psycopg.connect(DSN)
    return conn


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    read = json.loads(environ["wsgi.input"].read(length) or b"{}")
    conn = _conn()
    with conn.cursor() as cur:
        row = cur.execute("SELECT id FROM vehicles WHERE plate = %s AND plate_colour = %s",
                          (read.get("plate"), read.get("plate_colour"))).fetchone()
        cur.execute("INSERT INTO bench_reads (read_id, plate, vehicle_id) VALUES (%s, %s, %s)",
                    (read.get("read_id"), read.get("plate"), row[0] if row else None))
    conn.commit()
    body = json.dumps({"action": "OPEN" if row else "DENY"}).encode()
    start_response("201 Created", [("Content-Type", "application/json"),
                                   ("Content-Length", str(len(body)))])
    return [body]
