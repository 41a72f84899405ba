"""A durable, ordered outbox of reads (SQLite in the agent's state folder).

Every read is written here before anything else happens to it, so a power cut
between the camera and the centre loses nothing. Entries leave in the order they
came in; the centre is idempotent on read ids, so sending one twice is harmless.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Entry:
    seq: int
    read_id: str
    body: dict[str, Any]
    offline: dict[str, Any] | None  # the agent's own decision, when it had to make one


class Outbox:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a read acknowledged is on disk
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
            "read_id TEXT UNIQUE NOT NULL, body TEXT NOT NULL, offline TEXT, "
            "sent_at TEXT, answer TEXT)")
        self._lock = threading.Lock()

    def add(self, read_id: str, body: dict[str, Any]) -> int:
        with self._lock:
            cur = self._db.execute("INSERT OR IGNORE INTO outbox (read_id, body) VALUES (?, ?)",
                                   (read_id, json.dumps(body, ensure_ascii=False)))
            if cur.lastrowid and cur.rowcount:
                return int(cur.lastrowid)
            row = self._db.execute("SELECT seq FROM outbox WHERE read_id = ?", (read_id,)).fetchone()
            return int(row[0])

    def decided_offline(self, seq: int, decision: dict[str, Any]) -> None:
        with self._lock:
            self._db.execute("UPDATE outbox SET offline = ? WHERE seq = ?",
                             (json.dumps(decision, ensure_ascii=False), seq))

    def sent(self, seq: int, answer: dict[str, Any]) -> None:
        with self._lock:
            self._db.execute("UPDATE outbox SET sent_at = datetime('now'), answer = ? "
                             "WHERE seq = ?", (json.dumps(answer, ensure_ascii=False), seq))

    def pending(self, limit: int = 100) -> list[Entry]:
        with self._lock:
            rows = self._db.execute("SELECT seq, read_id, body, offline FROM outbox "
                                    "WHERE sent_at IS NULL ORDER BY seq LIMIT ?",
                                    (limit,)).fetchall()
        return [Entry(r[0], r[1], json.loads(r[2]), json.loads(r[3]) if r[3] else None)
                for r in rows]

    def backlog(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL")
                       .fetchone()[0])

    def close(self) -> None:
        self._db.close()
