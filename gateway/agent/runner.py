"""The agent's main loop: every read goes to the outbox, then to the centre — or, when
the centre cannot be reached, to the offline decider — and the barrier obeys the
answer. A replayer drains the outbox in order whenever the link is back."""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gateway.devices import Command, LaneController, SimulatedController
from gateway.permits import PermitSnapshot, SnapshotRejected, verify

from ..snapshot import PlateReadIn
from .client import CentreClient, CentreRefused, CentreUnreachable
from .offline import OfflineDecider
from .outbox import Outbox

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Outcome:
    read_id: str
    action: str
    offline: bool
    reasons: list[str]
    led: str | None = None


class Agent:
    def __init__(self, client: CentreClient, lane: str, state_dir: Path, *,
                 controller: LaneController | None = None, public_key: str | None = None,
                 refresh_s: float = 60.0, replay_backoff_s: float = 0.5,
                 now: Any = utcnow) -> None:
        self.client = client
        self.lane = lane
        self.state_dir = state_dir
        self.controller = controller or SimulatedController()
        self.public_key = public_key
        self.refresh_s = refresh_s
        self.replay_backoff_s = replay_backoff_s
        self.now = now
        self.outbox = Outbox(state_dir / "outbox.sqlite3")
        self.decider: OfflineDecider | None = None
        self.snapshot_version: str | None = None
        self.online = True
        self._send_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # --- the permit snapshot ----------------------------------------------------------------

    @property
    def _snapshot_file(self) -> Path:
        return self.state_dir / "snapshot.json"

    def _install(self, envelope: dict[str, Any]) -> None:
        if self.public_key is None:
            raise SnapshotRejected("no public key to verify the snapshot with")
        body = verify(envelope, self.public_key)
        permit = PermitSnapshot.from_body(body)
        previous = self.decider
        self.decider = OfflineDecider(permit)
        if previous is not None and previous.permit.generated_at <= permit.generated_at:
            # Crossings made offline after this snapshot was taken still count.
            self.decider.inside.update(previous.inside)
            self.decider.trip_state.update(previous.trip_state)
        self.snapshot_version = envelope["version"]

    def load_cached_snapshot(self) -> None:
        if self._snapshot_file.exists():
            try:
                self._install(json.loads(self._snapshot_file.read_text(encoding="utf-8")))
            except (SnapshotRejected, ValueError, KeyError):
                log.warning("cached permit snapshot does not verify; ignoring it")

    def refresh_snapshot(self) -> bool:
        try:
            if self.public_key is None:
                self.public_key = self.client.public_key()
                (self.state_dir / "centre_key.txt").write_text(self.public_key)
            envelope = self.client.snapshot(self.lane, self.snapshot_version)
        except (CentreUnreachable, CentreRefused):
            self.online = False
            return False
        self.online = True
        if envelope is not None:
            self._install(envelope)
            tmp = self._snapshot_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(envelope, ensure_ascii=False), encoding="utf-8")
            tmp.replace(self._snapshot_file)
        return True

    # --- reads ------------------------------------------------------------------------------

    def report(self) -> None:
        """The link and the backlog, for the agent's /metrics (see gateway.agent)."""
        from parkgate.metrics import AGENT_LINK_UP, AGENT_OUTBOX

        AGENT_LINK_UP.labels(self.lane).set(1 if self.online else 0)
        AGENT_OUTBOX.labels(self.lane).set(self.outbox.backlog())

    def handle(self, read: Any) -> Outcome:
        """Take one PlateRead (camera_adapters) through the centre or the offline path."""
        try:
            return self._handle(read)
        finally:
            self.report()

    def _handle(self, read: Any) -> Outcome:
        body = read.to_api()
        seq = self.outbox.add(read.read_id, body)
        with self._send_lock:
            if self.online and self.outbox.backlog() == 1:
                try:
                    answer = self.client.post_read(self.lane, body)
                except CentreUnreachable:
                    self.online = False
                except CentreRefused as refused:
                    self.outbox.sent(seq, {"refused": refused.body})
                    self._command(read.read_id, "HOLD_FOR_OPERATOR", None, None)
                    return Outcome(read.read_id, "REFUSED", False, [str(refused.body.get("code"))])
                else:
                    self.outbox.sent(seq, answer)
                    self._learn(answer)
                    self._command(read.read_id, answer["action"], answer.get("led"),
                                  answer.get("id"))
                    return Outcome(read.read_id, answer["action"], False,
                                   [r["code"] for r in answer.get("reasons", [])], answer.get("led"))
        return self._decide_offline(seq, read)

    def _learn(self, answer: dict[str, Any]) -> None:
        """Keep the offline view in step with what the centre decided."""
        if self.decider is None:
            return
        vehicle_id = answer.get("vehicle_id")
        if vehicle_id and answer.get("crossed"):
            self.decider.inside[vehicle_id] = answer.get("direction") == "in"
        trip = answer.get("trip")
        if trip:
            self.decider.trip_state[trip["id"]] = trip["state"]

    def _decide_offline(self, seq: int, read: Any) -> Outcome:
        now = self.now()
        reasons: list[dict[str, Any]]
        if self.decider is None:
            action, reasons = "HOLD_FOR_OPERATOR", [{"code": "OFFLINE_SNAPSHOT_STALE", "params": {}}]
        else:
            decision = self.decider.decide(PlateReadIn(
                plate=read.plate, colour=read.colour, confidence=read.confidence,
                seen_at=read.seen_at, trailer_plate=read.trailer_plate,
                trailer_confidence=read.trailer_confidence), now)
            action = decision.action
            reasons = [{"code": r.code, "params": {k: str(v) for k, v in r.params.items()}}
                       for r in decision.reasons]
        self.outbox.decided_offline(seq, {"action": action, "reasons": reasons,
                                          "decided_at": now.isoformat()})
        self._command(read.read_id, action, None, None)
        self._wake.set()
        return Outcome(read.read_id, action, True, [r["code"] for r in reasons])

    def _command(self, read_id: str, action: str, led: str | None, passage_id: int | None) -> None:
        # Fail closed (G05): only an explicit OPEN lifts the barrier.
        self.controller.send(Command(self.lane, action, action == "OPEN", led or "", passage_id))

    # --- replay -----------------------------------------------------------------------------

    def replay_once(self) -> int:
        """Send what is pending, oldest first; stop at the first failure. Returns sent."""
        sent = 0
        with self._send_lock:
            for entry in self.outbox.pending():
                body = dict(entry.body)
                if entry.offline is not None:
                    body["offline"] = entry.offline
                try:
                    answer = self.client.post_read(self.lane, body)
                except CentreUnreachable:
                    self.online = False
                    return sent
                except CentreRefused as refused:
                    log.error("centre refused replayed read %s: %s", entry.read_id, refused.body)
                    answer = {"refused": refused.body}
                self.outbox.sent(entry.seq, answer)
                self.online = True
                sent += 1
        return sent

    def _replayer(self) -> None:
        backoff = self.replay_backoff_s
        while not self._stop.is_set():
            self._wake.wait(timeout=backoff)
            self._wake.clear()
            if self.outbox.backlog() == 0:
                backoff = self.replay_backoff_s
                continue
            if self.replay_once() == 0 and self.outbox.backlog():
                backoff = min(backoff * 2, 10.0)
            else:
                backoff = self.replay_backoff_s
            self.report()

    def _refresher(self) -> None:
        while not self._stop.wait(self.refresh_s):
            self.refresh_snapshot()

    def start(self) -> Agent:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        key_file = self.state_dir / "centre_key.txt"
        if self.public_key is None and key_file.exists():
            self.public_key = key_file.read_text().strip()
        self.load_cached_snapshot()
        self.refresh_snapshot()
        for target in (self._replayer, self._refresher):
            thread = threading.Thread(target=target, name=f"agent-{target.__name__}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self.outbox.close()
