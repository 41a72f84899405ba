"""What every vendor's push format shares: the event type, read ids, text decoding by
the declared charset, plates with colour prefixes and no-plate markers, colour
tables per format, camera clocks, and pictures that never sink a read.

Parsing is pure (bytes in, events out). Errors that make a body unreadable raise
VendorPayloadError with a stable `VENDOR_…` code; a broken picture or a camera clock
that cannot be trusted does not: the read stands without it (a truck must not wait
because a camera's JPEG or clock is wrong).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from rules.plates import normalise, repair, validate

from .plate_read import PlateRead

MAX_BODY_BYTES = 4 * 1024 * 1024
MAX_PARTS = 12
MAX_PICTURE_BYTES = 1024 * 1024
# A camera that reads plates but states no confidence: trusted as far as this, so the
# lane's threshold (0.85 by default) decides; a park can raise the threshold.
UNSTATED_CONFIDENCE = 0.9


class VendorPayloadError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class VendorEvent:
    """What a vendor event says, before it is bound to a lane."""

    vendor: str
    plate: str | None  # None: no readable plate (vehicle_seen) or nothing to decide
    colour: str | None
    confidence: float
    camera_time: datetime | None  # as the camera's clock says, interpreted; None: unreadable
    event_id: str | None
    crop_jpeg: bytes | None = None
    ignored: str | None = None  # why there is nothing to decide (a heartbeat…)
    vehicle_seen: bool = False  # a vehicle went by whose plate could not be read (G06)
    device: str | None = None  # the camera's serial / device id and channel, as sent
    raw_time: str | None = None  # the capture time exactly as the camera wrote it
    picture_dropped: str | None = None  # why a picture sent with it was not kept
    scene_jpeg: bytes | None = None  # the camera's scene picture, fit for the booth

    @property
    def decides(self) -> bool:
        return self.plate is not None or self.vehicle_seen

    @property
    def read_id(self) -> str | None:
        return vendor_read_id(self.vendor, self.device, self.event_id, self.raw_time)

    def to_read(self, lane: str, seen_at: datetime) -> PlateRead:
        """The read at `lane`, seen at `seen_at` (the camera's time once it was judged
        trustworthy, else the time it arrived); an unreadable plate is an empty one."""
        kwargs: dict[str, Any] = {}
        if self.read_id:
            kwargs["read_id"] = self.read_id
        return PlateRead(lane=lane, plate=self.plate or "", colour=self.colour,
                         confidence=self.confidence, seen_at=seen_at,
                         crop_jpeg=self.crop_jpeg, source="vendor",
                         scene_jpeg=self.scene_jpeg, **kwargs)


def heartbeat(vendor: str, device: str | None, what: str) -> VendorEvent:
    return VendorEvent(vendor, None, None, 0.0, None, None, ignored=what, device=device)


# --- read ids ---------------------------------------------------------------------------------

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


# --- text --------------------------------------------------------------------------------------

_CHARSET = re.compile(r"charset\s*=\s*\"?([A-Za-z0-9_\-]+)", re.IGNORECASE)
_XML_DECLARED = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9_\-]+)[\"']")
# GB2312 and GBK are subsets of GB18030: decoding by the superset reads all three.
_CHARSET_ALIASES = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030",
                    "cp936": "gb18030", "gb18030": "gb18030", "utf8": "utf-8-sig",
                    "utf-8": "utf-8-sig"}


def charset_of(content_type: str) -> str | None:
    found = _CHARSET.search(content_type or "")
    return found.group(1) if found else None


def decode(body: bytes, charset: str | None) -> str:
    """Text by the declared charset (UTF-8 when none is)."""
    name = _CHARSET_ALIASES.get((charset or "utf-8").lower(), (charset or "utf-8").lower())
    try:
        return body.decode(name)
    except LookupError as exc:
        raise VendorPayloadError("VENDOR_BAD_ENCODING", f"unknown charset {charset!r}") from exc
    except UnicodeDecodeError as exc:
        raise VendorPayloadError("VENDOR_BAD_ENCODING",
                                 f"the body is not valid {charset or 'UTF-8'}: {exc.reason}") from exc


def json_of(body: bytes, content_type: str = "") -> Any:
    text = decode(body, charset_of(content_type))
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise VendorPayloadError("VENDOR_BAD_JSON", f"the body is not JSON: {exc}") from exc
    except RecursionError:
        raise VendorPayloadError("VENDOR_BAD_JSON", "the JSON is nested too deeply") from None


def xml_of(body: bytes, content_type: str = "") -> Element:
    """The XML's root, decoded by the charset the HTTP header or the XML declaration
    names (GB2312/GBK as GB18030): expat itself refuses multi-byte encodings."""
    declared = _XML_DECLARED.match(body)
    charset = charset_of(content_type) or (declared.group(1).decode() if declared else None)
    text = decode(body, charset)
    # The text is decoded now: the declaration must not make the parser decode again.
    text = re.sub(r"^(\s*<\?xml[^>]*?encoding\s*=\s*)([\"'])[A-Za-z0-9_\-]+\2", r"\1\2UTF-8\2",
                  text, count=1)
    try:
        return ElementTree.fromstring(text.encode("utf-8"))
    except DefusedXmlException as exc:
        raise VendorPayloadError("VENDOR_FORBIDDEN_XML", "the XML uses entities or a DTD") from exc
    except ElementTree.ParseError as exc:
        raise VendorPayloadError("VENDOR_BAD_XML", f"the body is not XML: {exc}") from exc


def strip_ns(root: Element) -> Element:
    for element in root.iter():
        if isinstance(element.tag, str) and "}" in element.tag:
            element.tag = element.tag.split("}", 1)[1]
    return root


@dataclass(frozen=True)
class Part:
    name: str  # the form field name
    filename: str
    content_type: str
    payload: bytes


def multipart(body: bytes, content_type: str) -> list[Part]:
    if "boundary=" not in content_type:
        raise VendorPayloadError("VENDOR_BAD_MULTIPART", "multipart body without a boundary")
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)
    if not message.is_multipart():
        raise VendorPayloadError("VENDOR_BAD_MULTIPART", "the multipart body has no parts")
    parts: list[Part] = []
    for part in message.iter_parts():
        if len(parts) >= MAX_PARTS:
            raise VendorPayloadError("VENDOR_TOO_MANY_PARTS", f"more than {MAX_PARTS} parts")
        name = part.get_param("name", header="content-disposition") or ""
        parts.append(Part(str(name), str(part.get_filename() or ""), part.get_content_type(),
                          _payload_bytes(part)))
    if not parts:
        raise VendorPayloadError("VENDOR_BAD_MULTIPART", "the multipart body has no parts")
    return parts


def kind_of(content_type: str, body: bytes) -> str:
    ct = (content_type or "").lower()
    if ct.startswith("multipart/"):
        return "multipart"
    if "json" in ct:
        return "json"
    if "xml" in ct:
        return "xml"
    head = body.lstrip()[:1]
    return {b"{": "json", b"<": "xml"}.get(head, "unknown")


# --- plates --------------------------------------------------------------------------------------

# What cameras write for a vehicle without a readable plate (Hikvision documents
# "noPlate" for a vehicle without one and "unknown" for a plate it could not read;
# Dahua sends "unlicensed"; screens show the Chinese), compared case-insensitively.
NO_PLATE = frozenset({"", "无车牌", "无牌车", "无牌", "无", "unknown", "未识别", "未知", "车牌",
                      "noplate", "unlicensed", "none", "null", "无法识别", "-", "nullplate"})
# Some cameras write the plate's colour before it ("蓝苏A12345", "黄绿苏A12345D").
PREFIX_COLOURS = (("黄绿", "yellow_green"), ("蓝", "blue"), ("黄", "yellow"), ("绿", "green"),
                  ("白", "white"), ("黑", "black"))


def plate_of(value: Any) -> tuple[str | None, str | None]:
    """The plate a camera's text names (None for a no-plate marker) and the colour its
    prefix names, if it has one. A prefix comes off only when what remains is a valid
    plate and the whole text is not: 黑AD12345 is a Heilongjiang plate, not a black one."""
    text = normalise(str(value or "")).strip()
    if text.lower() in NO_PLATE:
        return None, None
    whole = validate(text, fix_confusions=True)
    if not whole.valid:
        for prefix, colour in PREFIX_COLOURS:
            rest = text[len(prefix):]
            if text.startswith(prefix) and validate(rest, fix_confusions=True).valid:
                return repair(rest) or rest, colour
    return repair(text) or text, None


# --- colours, by the table each format documents ----------------------------------------------

def _name(value: Any) -> str:
    return re.sub(r"[\s_\-]", "", str(value or "")).lower()


# Hikvision ISAPI plateColor names. civilAviationGreen is an airport plate, not a
# new-energy one; gold, orange, red, brown, mixed and other colours are no plate
# colour ParkGate knows.
HIKVISION_COLOURS = {"blue": "blue", "yellow": "yellow", "white": "white", "black": "black",
                     "green": "green", "newenergygreen": "green",
                     "newenergyyellowgreen": "yellow_green", "yellowgreen": "yellow_green"}
# Dahua's colour names (ITSAPI "PlateColor"; NetSDK's enum names), by background.
DAHUA_COLOUR_NAMES = {"blue": "blue", "yellow": "yellow", "white": "white", "black": "black",
                      "green": "green", "shadowgreen": "green", "yellowgreen": "yellow_green",
                      "yellowbottomblacktext": "yellow", "bluebottomwhitetext": "blue",
                      "blackbottomwhitetext": "black", "newenergy": "green"}
# Dahua NetSDK EM_NET_PLATE_COLOR_TYPE (traffic events): 0 other, 1 blue, 2 yellow,
# 3 white, 4 black, 5 yellow-bottom-black-text, 6 blue-bottom-white-text,
# 7 black-bottom-white-text, 8 shadow green, 9 yellow-green.
DAHUA_NET_COLOUR_CODES = {1: "blue", 2: "yellow", 3: "white", 4: "black", 5: "yellow",
                          6: "blue", 7: "black", 8: "green", 9: "yellow_green"}
# Dahua EM_PLATE_COLOR_TYPE (other interfaces): 0 unknown, 1 other, 2 blue, 3 yellow,
# 4 white, 5 black, 6 red, 7 green, 8 shadow green, 9 yellow-green, 10–12 by background.
DAHUA_COLOUR_CODES = {2: "blue", 3: "yellow", 4: "white", 5: "black", 7: "green", 8: "green",
                      9: "yellow_green", 10: "yellow", 11: "blue", 12: "black"}
# GA/T 1400 PlateColor, the standard's colour table as public implementations use it:
# 1 black, 2 white, 5 blue, 6 yellow, 9 green (others are no plate colour).
GAT1400_COLOURS = {1: "black", 2: "white", 5: "blue", 6: "yellow", 9: "green"}


def colour_by_name(value: Any, table: dict[str, str]) -> str | None:
    return table.get(_name(value))


def colour_by_code(value: Any, codes: dict[int, str], names: dict[str, str] | None = None
                   ) -> str | None:
    """A numeric code by its format's table; a name by `names`; anything else unknown
    (never a guess)."""
    text = str(value if value is not None else "").strip()
    if text.lstrip("-").isdigit():
        return codes.get(int(text))
    return names.get(_name(text)) if names else None


# --- confidence -----------------------------------------------------------------------------------

def percent(value: Any) -> float | None:
    """A 0–100 confidence as 0–1 (1 is 1 %, not 100 %); None when not stated."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, min(1.0, number / 100))


# --- camera clocks ------------------------------------------------------------------------------

CN = timezone(timedelta(hours=8))
# Dahua's time-zone index (SnapInfo.TimeZone, Data.TimeZone), as its devices list the
# zones; a published capture confirms index 12 ↔ GMT+07:00 (UTC − RealUTC = 7 h).
DAHUA_ZONES_MIN = (0, 60, 120, 180, 210, 240, 270, 300, 330, 345, 360, 390, 420, 480, 540, 570,
                   600, 660, 720, 780, -60, -120, -180, -210, -240, -300, -360, -420, -480, -540,
                   -600, -660, -720)


def offset(minutes: int) -> timezone:
    return timezone(timedelta(minutes=minutes))


def dahua_zone(value: Any, default: timezone) -> timezone:
    """Dahua's TimeZone: an index into its table, or "+08:00"-style text."""
    text = str(value if value is not None else "").strip()
    if text.isdigit() and int(text) < len(DAHUA_ZONES_MIN):
        return offset(DAHUA_ZONES_MIN[int(text)])
    match = re.fullmatch(r"(?:GMT|UTC)?([+-])(\d{1,2}):?(\d{2})?", text)
    if match:
        sign = 1 if match.group(1) == "+" else -1
        return offset(sign * (int(match.group(2)) * 60 + int(match.group(3) or 0)))
    return default


_FORMATS = ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "%Y%m%d%H%M%S%f", "%Y%m%d%H%M%S")


def local_time(value: Any, zone: timezone) -> datetime | None:
    """A capture time as the camera wrote it: ISO 8601 (with its own offset, or local),
    "YYYY-MM-DD HH:MM:SS[.fff]" or "yyyyMMddHHmmss[SSS]" in the camera's local time.
    None when it is no time at all (the service then takes the arrival time)."""
    if value in (None, ""):
        return None
    text = str(value).strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
        for fmt in _FORMATS:
            try:
                parsed = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        if parsed is None:
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)  # type: ignore[union-attr]


def epoch(value: Any) -> datetime | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if number > 1e11:  # milliseconds
        number /= 1000
    try:
        return datetime.fromtimestamp(number, UTC)
    except (OverflowError, OSError, ValueError):
        return None


FUTURE_SLACK = timedelta(minutes=5)


def settle(camera_time: datetime | None, received: datetime, backlog: timedelta
           ) -> tuple[datetime, bool]:
    """The instant a read is recorded at, and whether the camera's clock was overruled:
    a time more than 5 minutes ahead of arrival (a camera whose clock says 2034), older
    than the lane's backlog bound, or unreadable gives way to the arrival time. A resend
    from the camera's buffer within the bound keeps its own time."""
    if camera_time is None or camera_time > received + FUTURE_SLACK or \
            camera_time < received - backlog:
        return received, True
    return camera_time, False


# --- pictures --------------------------------------------------------------------------------------

JPEG_MAGIC = b"\xff\xd8\xff"


def is_jpeg(data: bytes) -> bool:
    return data[:3] == JPEG_MAGIC


def jpeg_or_reason(data: bytes | None) -> tuple[bytes | None, str | None]:
    """A picture ParkGate keeps, or why not (the read is kept either way)."""
    if not data:
        return None, None
    if len(data) > MAX_PICTURE_BYTES:
        return None, "VENDOR_PICTURE_TOO_LARGE"
    if not is_jpeg(data):
        return None, "CROP_NOT_JPEG"
    return data, None


def base64_picture(value: Any) -> tuple[bytes | None, str | None]:
    if not value:
        return None, None
    text = str(value)
    if len(text) > MAX_PICTURE_BYTES * 4 // 3 + 8:
        return None, "VENDOR_PICTURE_TOO_LARGE"
    data = _from_base64(text)
    return (None, "VENDOR_BAD_PICTURE") if data is None else jpeg_or_reason(data)


def _from_base64(text: str) -> bytes | None:
    """Base64 as cameras send it (line breaks and spaces included), or None."""
    try:
        return base64.b64decode(re.sub(r"\s", "", text), validate=True)
    except (binascii.Error, ValueError):
        return None


# A scene picture this small is kept as the camera sent it; a larger one (4–8 MP
# cameras send 0.5–2 MB) is shrunk to what the booth shows (camera_adapters.scene).
SCENE_KEEP_BYTES = 256 * 1024


def scene_picture(data: bytes | None) -> bytes | None:
    """A camera's scene (panorama, vehicle) picture as the booth shows it, or None
    when there is none or it is no JPEG (the read is kept either way)."""
    if not data or not is_jpeg(data):
        return None
    if len(data) <= SCENE_KEEP_BYTES:
        return data
    import cv2
    import numpy as np

    from .scene import scene_jpeg

    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return None if image is None else scene_jpeg(image)


def base64_scene(value: Any) -> bytes | None:
    return scene_picture(_from_base64(str(value))) if value else None


def with_picture(event: VendorEvent, picture: tuple[bytes | None, str | None]) -> VendorEvent:
    crop, dropped = picture
    return replace(event, crop_jpeg=crop, picture_dropped=dropped)


def _payload_bytes(part: Any) -> bytes:
    """A part's body, decoded from its transfer encoding (bytes for any leaf part)."""
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""
