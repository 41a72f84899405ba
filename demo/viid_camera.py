"""The demo's GA/T 1400 camera at the north exit (P2-OUT): it registers with the demo
over HTTP with Digest, keeps alive every minute, and uploads a motor-vehicle object
(plate, colour code, pass time, plate picture) for each vehicle that the P2-IN camera
let in, a little while later, as a camera of any vendor would through the national
interface. Only the camera is simulated; the path into ParkGate is the real one."""

from __future__ import annotations

import base64
import json
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from kernel import clock

from .seed import TZ, VIID_CAMERA

log = logging.getLogger(__name__)

# GA/T 1400's plate colour codes (camera_adapters.gat1400).
COLOUR_CODES = {"black": "1", "white": "2", "blue": "5", "yellow": "6", "green": "9"}
KEEPALIVE_S = 60.0


class SimulatedViidCamera:
    def __init__(self, centre_url: str, session_factory: Callable[[], Any], *,
                 stay_s: float = 45.0, interval_s: float = 10.0) -> None:
        self.centre_url = centre_url.rstrip("/")
        self.session_factory = session_factory
        self.stay = timedelta(seconds=stay_s)
        self.interval_s = interval_s
        self.device_id, self.username, self.password, self.lane = VIID_CAMERA
        self.sent: set[int] = set()  # P2-IN passages already driven out
        self.uploaded = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._challenge: str | None = None
        self._nc = 0

    def start(self) -> SimulatedViidCamera:
        self._thread = threading.Thread(target=self._run, name="demo-viid-camera", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    # --- HTTP as the camera speaks it ------------------------------------------------------

    def post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST as the camera: signed with Digest, signing again on a 401 (first
        contact, or a nonce gone stale)."""
        from gateway.digest import authorization

        body = json.dumps(payload, ensure_ascii=False).encode()
        for _ in range(2):
            headers = {"Content-Type": "application/VIID+JSON;charset=UTF-8",
                       "User-Identify": self.device_id}
            if self._challenge:
                self._nc += 1
                headers["Authorization"] = authorization(self.username, self.password, "POST",
                                                         path, self._challenge, nc=self._nc)
            # The demo's own http:// URL, never a configured one.
            request = urllib.request.Request(self.centre_url + path, data=body,  # noqa: S310
                                             headers=headers, method="POST")
            try:
                # Accepted (bandit B310): the URL is the demo server's own http:// address.
                with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310 # nosec B310
                    return json.loads(response.read() or b"{}")
            except urllib.error.HTTPError as exc:
                if exc.code != 401:
                    raise
                self._challenge, self._nc = exc.headers["WWW-Authenticate"], 0
        raise PermissionError("the demo camera's credentials were refused")

    def register(self) -> None:
        self.post("/VIID/System/Register", {"RegisterObject": {"DeviceID": self.device_id}})

    def keepalive(self) -> None:
        self.post("/VIID/System/Keepalive", {"KeepaliveObject": {"DeviceID": self.device_id}})

    def upload(self, vehicles: list[tuple[str, str | None, bytes | None, bytes | None]],
               at: datetime) -> dict[str, Any]:
        """One MotorVehicleListObject with an object per vehicle (plate, colour, crop,
        scene)."""
        return self.post("/VIID/MotorVehicles", {"MotorVehicleListObject": {
            "MotorVehicleObject": [self._object(plate, colour, at, crop, scene)
                                   for plate, colour, crop, scene in vehicles]}})

    def _object(self, plate: str, colour: str | None, at: datetime, crop: bytes | None,
                scene: bytes | None = None) -> dict[str, Any]:
        pass_time = at.astimezone(TZ).strftime("%Y%m%d%H%M%S")
        self.uploaded += 1
        vehicle: dict[str, Any] = {
            "MotorVehicleID": f"{self.device_id}02{pass_time}{self.uploaded:05d}",
            "InfoKind": 1, "DeviceID": self.device_id, "PassTime": pass_time, "LaneNo": 1,
            "HasPlate": "1", "PlateNo": plate, "PlateColor": COLOUR_CODES.get(colour or "", "99"),
            "PlateReliability": "95"}
        # Type 02: the plate crop (车牌彩色小图); 01: the vehicle picture (车辆大图).
        images = [{"ImageID": f"{vehicle['MotorVehicleID']}{kind}", "Type": kind,
                   "FileFormat": "Jpeg", "ShotTime": pass_time,
                   "Data": base64.b64encode(data).decode()}
                  for kind, data in (("02", crop), ("01", scene)) if data]
        if images:
            vehicle["SubImageList"] = {"SubImageInfoObject": images}
        return vehicle

    # --- the camera's day --------------------------------------------------------------------

    def _leaving(self) -> list[tuple[int, str, str | None, bytes | None, bytes | None]]:
        """Vehicles the north entrance let in more than `stay` ago, not yet driven out."""
        from models import Lane, Passage, PassageImage

        with self.session_factory() as s:
            lane_id = s.scalar(select(Lane.id).where(Lane.code == "P2-IN"))
            rows = s.execute(select(Passage.id, Passage.plate, Passage.plate_colour,
                                    Passage.crop_sha256, Passage.details)
                             .where(Passage.lane_id == lane_id, Passage.action == "OPEN",
                                    Passage.crossed.is_(True),
                                    Passage.decided_at < clock.now() - self.stay)
                             .order_by(Passage.id.desc()).limit(20)).all()
            out = []
            for pid, plate, colour, crop, details in rows:
                if pid in self.sent or not plate:
                    continue
                pictures = [s.get(PassageImage, sha) if sha else None
                            for sha in (crop, (details or {}).get("scene_sha256"))]
                out.append((pid, plate, colour,
                            *(p.jpeg if p is not None else None for p in pictures)))
            return out

    def _run(self) -> None:
        last_keepalive = 0.0
        try:
            self.register()
            log.info("demo GA/T 1400 camera %s registered (lane %s)", self.device_id, self.lane)
            while not self._stop.wait(self.interval_s):
                now = clock.now()
                if now.timestamp() - last_keepalive >= KEEPALIVE_S:
                    self.keepalive()
                    last_keepalive = now.timestamp()
                leaving = self._leaving()[:10]
                if leaving:
                    self.sent.update(pid for pid, *_ in leaving)
                    answer = self.upload([(plate, colour, crop, scene)
                                          for _, plate, colour, crop, scene in leaving], now)
                    statuses = answer.get("ResponseStatusListObject", {}).get(
                        "ResponseStatusObject", [])
                    log.info("GA/T 1400 camera %s: %s left (%s)", self.lane,
                             ", ".join(p for _, p, *_ in leaving),
                             ", ".join(st.get("StatusCode", "?") for st in statuses))
        except Exception:
            log.exception("demo GA/T 1400 camera stopped")
