"""The sequencer: links committed audit events into the chain, right after commit.

Requests only queue their events (audit.chain.queue_events); nothing in a request
waits for the chain. Per database, each process either links right after its own
commits (`inline`: the command line, workers, tests, where the next statement may
read the chain) or wakes a thread of its own that links whatever is queued
(`background`: the web app, so a gate decision answers without waiting). Either way
a pass takes the sequencer's lock, so two processes never link at once, and links
everything queued, its own events and anyone else's; every background thread also
sweeps once a second, so events whose process died before linking them are linked
by the next one to look.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from kernel import clock

from .chain import link_pending

log = logging.getLogger(__name__)
SWEEP_S = 1.0
# After a wake-up the thread lingers this long, so one pass links what a burst of
# commits queued instead of racing each of them (linking is one transaction per pass).
LINGER_S = 0.02
PASS_LIMIT = 2000


class LinkStats:
    """What the sequencer has done in this process (benchmarks read it)."""

    def __init__(self) -> None:
        self.linked = 0
        self.passes = 0
        self.longest_wait_s = 0.0  # from an event's instant to its linking

    def note(self, count: int, oldest: datetime | None) -> None:
        self.passes += 1
        self.linked += count
        if oldest is not None:
            self.longest_wait_s = max(self.longest_wait_s,
                                      (clock.now() - oldest).total_seconds())


STATS = LinkStats()


def link_all(engine: Engine, *, wait: bool = True) -> int:
    """Link everything queued, in passes of a few thousand; how many were linked."""
    total = 0
    while True:
        with Session(engine) as session:
            linked = link_pending(session, wait=wait, limit=PASS_LIMIT)
            session.commit()
        STATS.note(linked.count, linked.oldest_at)
        total += linked.count
        # Done once the queue was emptied (as far as this pass saw) and the tree
        # covers the chain.
        if linked.count < PASS_LIMIT and not linked.tree_behind:
            return total


class _Background:
    """One thread per process and database: woken after a commit that queued events,
    and every SWEEP_S regardless."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.wake = threading.Event()
        self.stop = threading.Event()
        self.pid = os.getpid()
        self.thread = threading.Thread(target=self._run, name="audit-sequencer", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            if self.wake.wait(SWEEP_S):
                self.stop.wait(LINGER_S)
            self.wake.clear()
            try:
                link_all(self.engine)
            except Exception:  # a lost database: the next pass tries again
                log.exception("audit sequencer pass failed; retrying")
                time.sleep(SWEEP_S)


_MODES: dict[Any, str] = {}  # engine url -> "inline" | "background"
_THREADS: dict[Any, _Background] = {}
_LOCK = threading.Lock()


def configure(engine: Engine, mode: str) -> None:
    """How events queued on this engine are linked (default: inline)."""
    if mode not in ("inline", "background"):
        raise ValueError(f"unknown audit linking mode {mode!r}")
    _MODES[engine.url] = mode


def committed(engine: Engine) -> None:
    """A transaction that queued events has committed: link them (inline), or have
    this process's sequencer thread do it now (background)."""
    if _MODES.get(engine.url, "inline") == "inline":
        link_all(engine)
        return
    with _LOCK:
        worker = _THREADS.get(engine.url)
        # A forked worker (gunicorn) inherits the dict but not the thread.
        if worker is None or worker.pid != os.getpid() or not worker.thread.is_alive():
            worker = _THREADS[engine.url] = _Background(engine)
    worker.wake.set()


def start(engine: Engine) -> None:
    """Start this process's sequencer thread (background mode) without waiting for a
    commit, so a queue left by a crash is linked at start."""
    if _MODES.get(engine.url) == "background":
        committed(engine)


def shutdown(wait_s: float = 5.0) -> None:
    """Stop this process's sequencer threads, each after the pass it is in."""
    with _LOCK:
        workers = list(_THREADS.values())
        _THREADS.clear()
    for worker in workers:
        worker.stop.set()
        worker.wake.set()
    for worker in workers:
        if worker.thread is not threading.current_thread():
            worker.thread.join(wait_s)
