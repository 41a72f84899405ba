"""Plate events pushed by gate cameras that read plates themselves (vendor ANPR).

- Hikvision ISAPI: an `EventNotificationAlert` with eventType ANPR, as XML or JSON,
  alone or as the first part of a multipart/form-data body whose other parts are
  the pictures (licensePlatePicture.jpg is the plate crop).
- Dahua ITC (ITSAPI "TollgateInfo" upload): JSON `{"Picture": {"Plate": …,
  "SnapInfo": …, "CutoutPic": …, "NormalPic": …}}`, and the event-manager form
  `{"Events": [{"Code": "TrafficJunction", "Data": {"TrafficCar": …}}]}`.

Parsing is pure (bytes + content type in, VendorEvent out); the lane comes from the
URL the camera was configured to push to. Heartbeats and events without a plate
are acknowledged and ignored (the camera retries anything else); malformed bodies
raise VendorPayloadError with a stable code.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from rules.plates import normalise, repair

from .plate_read import PlateRead

MAX_BODY_BYTES = 4 * 1024 * 1024
MAX_PARTS = 8
MAX_PICTURE_BYTES = 1024 * 1024
# What cameras write for a vehicle without a readable plate (Hikvision's documented
# "noPlate", Dahua's "unlicensed", and the Chinese the screens show), compared
# case-insensitively after normalising.
NO_PLATE = {"", "无车牌", "无牌车", "无牌", "无", "unknown", "未识别", "未知", "车牌", "noplate",
            "unlicensed", "none", "null", "无法识别", "-"}
VENDORS = ("hikvision", "dahua")


class VendorPayloadError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class VendorEvent:
    """What a vendor event says, before it is bound to a lane."""

    vendor: str
    plate: str | None  # None: nothing to decide (heartbeat, no plate read)
    colour: str | None
    confidence: float
    seen_at: datetime
    event_id: str | None
    crop_jpeg: bytes | None = None
    ignored: str | None = None  # why there is no plate
    vehicle_seen: bool = False  # a vehicle went by whose plate could not be read (G06)
    device: str | None = None  # the camera's serial / device id and channel, as sent
    raw_time: str | None = None  # the capture time exactly as the camera wrote it

    @property
    def read_id(self) -> str | None:
        return vendor_read_id(self.vendor, self.device, self.event_id, self.raw_time)

    def to_read(self, lane: str) -> PlateRead:
        """The read at `lane`; an unreadable plate is an empty one."""
        kwargs: dict[str, Any] = {}
        if self.read_id:
            kwargs["read_id"] = self.read_id
        return PlateRead(lane=lane, plate=self.plate or "", colour=self.colour,
                         confidence=self.confidence, seen_at=self.seen_at,
                         crop_jpeg=self.crop_jpeg, source="vendor", **kwargs)


_READ_ID_CHARS = re.compile(r"[^A-Za-z0-9._:\-]")
# A vendor id of this many characters or fewer is a counter (Dahua's SnapID/RecordID,
# Hikvision's activePostCount): it repeats when the camera restarts, so the capture
# time joins it.
SHORT_ID = 12


def vendor_read_id(vendor: str, device: str | None, event_id: str | None,
                   raw_time: str | None) -> str | None:
    """The read id of a vendor event: the camera's own id, namespaced by the device that
    sent it (the lane namespaces it again at the gate), with the camera's raw capture
    time where the id is a short counter. Built from what the camera sent, never from
    a corrected clock, so a retried push keeps its id. None without an event id."""
    if not event_id:
        return None
    parts = [vendor, device or "-", str(event_id)]
    if len(str(event_id)) <= SHORT_ID:
        parts.append(raw_time or "-")
    text = ":".join(_READ_ID_CHARS.sub("-", p) for p in parts)
    if len(text) <= 64:
        return text
    # Long ids (UUIDs with a long serial) keep their vendor and a stable digest.
    return f"{vendor}:{hashlib.sha256(':'.join(parts).encode()).hexdigest()[:48]}"


# --- shared helpers ----------------------------------------------------------------------------

_COLOURS = (
    ("yellowgreen", "yellow_green"), ("yellow_green", "yellow_green"),
    ("newenergy", "green"), ("green", "green"), ("blue", "blue"), ("yellow", "yellow"),
    ("white", "white"), ("black", "black"),
)
_DAHUA_COLOUR_CODES = {"0": "blue", "1": "yellow", "2": "white", "3": "black", "4": "green",
                       "5": "yellow_green"}


def colour_of(value: Any) -> str | None:
    text = re.sub(r"[\s\-]", "", str(value or "")).lower()
    if text in _DAHUA_COLOUR_CODES:
        return _DAHUA_COLOUR_CODES[text]
    for key, colour in _COLOURS:
        if key in text:
            return colour
    return None


def confidence_of(value: Any) -> float:
    """Vendors say 0–100 (Hikvision confidenceLevel, Dahua Confidence) or 0–1."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    if number > 1:
        number /= 100
    return max(0.0, min(1.0, number))


def plate_of(value: Any) -> str | None:
    text = normalise(str(value or "")).strip()
    # Some cameras prefix the colour: "蓝苏A12345".
    if len(text) >= 8 and text[0] in "蓝黄绿白黑" and text[1] not in "0123456789":
        text = text[1:]
    if text.lower() in NO_PLATE:
        return None
    return repair(text) or text


_CN = timezone(timedelta(hours=8))


def time_of(value: Any, *, default_tz: timezone = _CN) -> datetime:
    """ISO 8601 (Hikvision), "YYYY-MM-DD HH:MM:SS[.fff]" in camera local time or a UNIX
    second count (Dahua). No time, or nonsense: now (the push is immediate)."""
    if value in (None, ""):
        return datetime.now(UTC)
    if isinstance(value, (int, float)) or (isinstance(value, str) and value.isdigit()):
        number = float(value)
        if number > 1e11:  # milliseconds
            number /= 1000
        return datetime.fromtimestamp(number, UTC)
    text = str(value).strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise VendorPayloadError("VENDOR_BAD_TIME", f"unreadable event time {value!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=default_tz)


def picture(value: Any) -> bytes | None:
    if not value:
        return None
    try:
        data = base64.b64decode(str(value), validate=False)
    except (binascii.Error, ValueError) as exc:
        raise VendorPayloadError("VENDOR_BAD_PICTURE", "a picture is not valid base64") from exc
    if len(data) > MAX_PICTURE_BYTES:
        raise VendorPayloadError("VENDOR_PICTURE_TOO_LARGE", "a picture exceeds 1 MiB")
    return data if data[:2] == b"\xff\xd8" else None  # JPEG only; anything else is dropped


def _json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise VendorPayloadError("VENDOR_BAD_JSON", f"the body is not JSON: {exc}") from exc
    except RecursionError:
        raise VendorPayloadError("VENDOR_BAD_JSON", "the JSON is nested too deeply") from None


def _xml(body: bytes) -> Element:
    try:
        return ElementTree.fromstring(body)
    except DefusedXmlException as exc:
        raise VendorPayloadError("VENDOR_FORBIDDEN_XML", "the XML uses entities or a DTD") from exc
    except ElementTree.ParseError as exc:
        raise VendorPayloadError("VENDOR_BAD_XML", f"the body is not XML: {exc}") from exc


def multipart(body: bytes, content_type: str) -> list[tuple[str, str, bytes]]:
    """(name, content type, payload) of each part, in order."""
    if "boundary=" not in content_type:
        raise VendorPayloadError("VENDOR_BAD_MULTIPART", "multipart body without a boundary")
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)
    if not message.is_multipart():
        raise VendorPayloadError("VENDOR_BAD_MULTIPART", "the multipart body has no parts")
    parts = []
    for part in message.iter_parts():
        if len(parts) >= MAX_PARTS:
            raise VendorPayloadError("VENDOR_TOO_MANY_PARTS", f"more than {MAX_PARTS} parts")
        name = part.get_param("name", header="content-disposition") or part.get_filename() or ""
        payload = part.get_payload(decode=True) or b""
        parts.append((str(name), part.get_content_type(), payload))
    if not parts:
        raise VendorPayloadError("VENDOR_BAD_MULTIPART", "the multipart body has no parts")
    return parts


def _kind(content_type: str, body: bytes) -> str:
    ct = content_type.lower()
    if ct.startswith("multipart/"):
        return "multipart"
    if "json" in ct:
        return "json"
    if "xml" in ct:
        return "xml"
    head = body.lstrip()[:1]
    return {b"{": "json", b"<": "xml"}.get(head, "unknown")


# --- Hikvision ---------------------------------------------------------------------------------

def _strip_ns(root: Element) -> Element:
    for element in root.iter():
        if isinstance(element.tag, str) and "}" in element.tag:
            element.tag = element.tag.split("}", 1)[1]
    return root


def _hik_from_xml(root: Element) -> dict[str, Any]:
    root = _strip_ns(root)
    if root.tag != "EventNotificationAlert":
        raise VendorPayloadError("VENDOR_UNKNOWN_EVENT", f"expected EventNotificationAlert, got {root.tag}")
    out: dict[str, Any] = {child.tag: (child.text or "").strip() for child in root if len(child) == 0}
    anpr = root.find("ANPR")
    if anpr is not None:
        out["ANPR"] = {child.tag: (child.text or "").strip() for child in anpr if len(child) == 0}
    return out


def parse_hikvision(body: bytes, content_type: str) -> VendorEvent:
    crop = None
    kind = _kind(content_type, body)
    if kind == "multipart":
        parts = multipart(body, content_type)
        event_part = next((p for p in parts if p[1].endswith(("xml", "json"))
                           or p[0].lower().endswith((".xml", ".json"))), None)
        if event_part is None:
            raise VendorPayloadError("VENDOR_NO_EVENT", "no XML or JSON part in the multipart body")
        pictures = {name.lower(): data for name, ctype, data in parts if ctype.startswith("image/")}
        crop = next((data for name, data in pictures.items() if "licenseplate" in name), None)
        if crop is not None and len(crop) > MAX_PICTURE_BYTES:
            raise VendorPayloadError("VENDOR_PICTURE_TOO_LARGE", "a picture exceeds 1 MiB")
        body, kind = event_part[2], "json" if event_part[1].endswith("json") or \
            event_part[0].lower().endswith(".json") else "xml"
    if kind == "json":
        doc = _json(body)
        if not isinstance(doc, dict):
            raise VendorPayloadError("VENDOR_BAD_JSON", "the event is not a JSON object")
        doc = doc.get("EventNotificationAlert", doc)
    elif kind == "xml":
        doc = _hik_from_xml(_xml(body))
    else:
        raise VendorPayloadError("VENDOR_UNSUPPORTED_TYPE", f"unsupported content type {content_type!r}")
    event_type = str(doc.get("eventType") or "").strip()
    seen_at = time_of(doc.get("dateTime"))
    event_id = doc.get("UUID") or doc.get("uuid")
    if event_type.lower() != "anpr":
        # Heartbeats (videoloss/inactive) and other alarms share the push URL.
        return VendorEvent("hikvision", None, None, 0.0, seen_at, event_id,
                           ignored=f"event {event_type or 'without a type'}")
    anpr = doc.get("ANPR")
    if not isinstance(anpr, dict):
        raise VendorPayloadError("VENDOR_MISSING_FIELD", "ANPR event without its ANPR block")
    plate = plate_of(anpr.get("licensePlate") or anpr.get("originalLicensePlate"))
    device = f"{doc.get('macAddress') or doc.get('serialNo') or doc.get('deviceID') or ''}" \
        f"/{doc.get('channelID') or ''}"
    if event_id is None and doc.get("dateTime"):
        # No UUID: the camera's post count is the id (a counter, kept with the time).
        event_id = doc.get("activePostCount") or anpr.get("serialNo")
    return VendorEvent("hikvision", plate, colour_of(anpr.get("plateColor")) if plate else None,
                       confidence_of(anpr.get("confidenceLevel")) if plate else 0.0, seen_at,
                       str(event_id) if event_id else None, crop, device=device,
                       raw_time=str(doc.get("dateTime") or "") or None,
                       vehicle_seen=plate is None, ignored="no plate" if plate is None else None)


# --- Dahua -------------------------------------------------------------------------------------

def _dahua_picture(doc: dict[str, Any]) -> VendorEvent:
    pic = doc["Picture"]
    if not isinstance(pic, dict):
        raise VendorPayloadError("VENDOR_BAD_JSON", "Picture is not an object")
    plate_info = pic.get("Plate") or {}
    snap = pic.get("SnapInfo") or {}
    if not isinstance(plate_info, dict) or not isinstance(snap, dict):
        raise VendorPayloadError("VENDOR_BAD_JSON", "Plate and SnapInfo must be objects")
    seen_at = time_of(snap.get("AccurateTime") or snap.get("SnapTime"))
    event_id = snap.get("SnapID") or snap.get("RecordID") or (
        f"{snap.get('DeviceID', '')}-{snap.get('AccurateTime') or snap.get('SnapTime') or ''}"
        if snap.get("DeviceID") else None)
    plate = plate_of(plate_info.get("PlateNumber"))
    if plate_info.get("IsExist") is False:
        plate = None
    # The picture matters most when the plate could not be read: the operator looks.
    crop = picture((pic.get("CutoutPic") or {}).get("Content"))
    device = f"{snap.get('DeviceID') or ''}/{plate_info.get('Channel', '')}"
    raw = snap.get("AccurateTime") or snap.get("SnapTime")
    return VendorEvent("dahua", plate, colour_of(plate_info.get("PlateColor")) if plate else None,
                       confidence_of(plate_info.get("Confidence")) if plate else 0.0, seen_at,
                       str(event_id) if event_id else None, crop, device=device,
                       raw_time=str(raw) if raw else None, vehicle_seen=plate is None,
                       ignored="no plate" if plate is None else None)


def _dahua_events(doc: dict[str, Any]) -> VendorEvent:
    events = doc["Events"]
    if not isinstance(events, list) or not events:
        raise VendorPayloadError("VENDOR_BAD_JSON", "Events must be a non-empty list")
    event = events[0]
    if not isinstance(event, dict):
        raise VendorPayloadError("VENDOR_BAD_JSON", "an event is not an object")
    data = event.get("Data") or {}
    seen_at = time_of(data.get("UTC") if isinstance(data, dict) else None, default_tz=UTC)
    code = str(event.get("Code") or "")
    if code not in ("TrafficJunction", "TrafficParking", "TrafficSnap", "ParkingSpaceParking") \
            or not isinstance(data, dict):
        return VendorEvent("dahua", None, None, 0.0, seen_at, None, ignored=f"event {code or '?'}")
    car = data.get("TrafficCar") or {}
    obj = data.get("Object") or {}
    plate = plate_of(car.get("PlateNumber") or obj.get("Text"))
    event_id = data.get("EventID") or car.get("RecNo")
    raw = data.get("UTC")
    return VendorEvent("dahua", plate, colour_of(car.get("PlateColor")) if plate else None,
                       confidence_of(car.get("Confidence") or obj.get("Confidence"))
                       if plate else 0.0, seen_at,
                       str(event_id) if event_id is not None else None,
                       device=f"{doc.get('DeviceID') or ''}/{doc.get('Channel', '')}",
                       raw_time=str(raw) if raw is not None else None, vehicle_seen=plate is None,
                       ignored="no plate" if plate is None else None)


def parse_dahua(body: bytes, content_type: str) -> VendorEvent:
    if _kind(content_type, body) != "json":
        raise VendorPayloadError("VENDOR_UNSUPPORTED_TYPE", f"unsupported content type {content_type!r}")
    doc = _json(body)
    if not isinstance(doc, dict):
        raise VendorPayloadError("VENDOR_BAD_JSON", "the event is not a JSON object")
    if "Picture" in doc:
        return _dahua_picture(doc)
    if "Events" in doc:
        return _dahua_events(doc)
    if set(doc) & {"DeviceID", "KeepAlive", "Heartbeat"}:
        return VendorEvent("dahua", None, None, 0.0, datetime.now(UTC), None, ignored="heartbeat")
    raise VendorPayloadError("VENDOR_UNKNOWN_EVENT", "neither a Picture nor an Events body")


def parse(vendor: str, body: bytes, content_type: str) -> VendorEvent:
    if len(body) > MAX_BODY_BYTES:
        raise VendorPayloadError("PAYLOAD_TOO_LARGE", f"the body exceeds {MAX_BODY_BYTES} bytes")
    if not body.strip():
        raise VendorPayloadError("VENDOR_EMPTY", "the body is empty")
    parser = {"hikvision": parse_hikvision, "dahua": parse_dahua}.get(vendor)
    if parser is None:
        raise VendorPayloadError("VENDOR_UNKNOWN", f"unknown vendor {vendor!r}")
    try:
        return parser(body, content_type or "")
    except (AttributeError, TypeError, KeyError) as exc:
        # A field of the wrong shape somewhere deep (a list where an object belongs).
        raise VendorPayloadError("VENDOR_BAD_SHAPE", f"unexpected event structure: {exc}") from exc
