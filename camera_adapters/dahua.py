"""Dahua ITC pushes, in the three shapes real devices send:

- ITSAPI platform upload (`/NotificationInfo/TollgateInfo`): `{"Picture": {"Plate":
  {PlateNumber, PlateColor (a name), Confidence}, "SnapInfo": {DeviceID, SnapTime,
  AccurateTime (camera local time), TimeZone (Dahua's zone index)}, "CutoutPic":
  {Content}}}`; `/NotificationInfo/KeepAlive` `{"Active": "keepAlive", "DeviceID"}`
  and `/NotificationInfo/DeviceInfo` are heartbeats.
- NetSDK event upload `{"Events": [{"Code": "TrafficJunction", "Data": {…}}]}` and the
  RPC2 event stream `{"method": "client.notifyEventStream", "params": {"eventList":
  [...]}}`: every event of the batch, not only the first. `Data.UTC` is the camera's
  local wall-clock time written as an epoch; `Data.RealUTC` is the true instant, else
  UTC less the zone its TimeZone index names. Numeric colours follow NetSDK's
  EM_NET_PLATE_COLOR_TYPE.

Colour numbers in the ITSAPI upload follow EM_PLATE_COLOR_TYPE; names map by the
plate's background colour (BlackBottomWhiteText is black); anything else is unknown.
"""

from __future__ import annotations

from datetime import timedelta, timezone
from typing import Any

from .vendor_common import (
    CN,
    DAHUA_COLOUR_CODES,
    DAHUA_COLOUR_NAMES,
    DAHUA_NET_COLOUR_CODES,
    UNSTATED_CONFIDENCE,
    VendorEvent,
    VendorPayloadError,
    base64_picture,
    base64_scene,
    colour_by_code,
    dahua_zone,
    epoch,
    heartbeat,
    json_of,
    kind_of,
    local_time,
    plate_of,
)

TRAFFIC_EVENTS = frozenset({"TrafficJunction", "TrafficParking", "TrafficSnap",
                            "ParkingSpaceParking", "TrafficGate"})


def confidence(value: Any) -> float | None:
    """Dahua's Confidence: percent where it is 0–100; a 0–255 scale above that."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, min(1.0, number / 100 if number <= 100 else number / 255))


def _object(value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise VendorPayloadError("VENDOR_BAD_JSON", f"{what} is not an object")
    return value


def _picture_upload(doc: dict[str, Any], zone: timezone) -> VendorEvent:
    pic = _object(doc["Picture"], "Picture")
    plate_info = _object(pic.get("Plate"), "Plate")
    snap = _object(pic.get("SnapInfo"), "SnapInfo")
    raw = snap.get("AccurateTime") or snap.get("SnapTime")
    camera_zone = dahua_zone(snap.get("TimeZone"), zone) if "TimeZone" in snap else zone
    device = f"{snap.get('DeviceID') or ''}/{plate_info.get('Channel', '')}"
    event_id = snap.get("SnapID") or snap.get("RecordID") or (
        f"{snap.get('DeviceID')}-{raw}" if snap.get("DeviceID") and raw else None)
    plate, prefix_colour = plate_of(plate_info.get("PlateNumber"))
    if plate_info.get("IsExist") is False:
        plate = None
    colour = colour_by_code(plate_info.get("PlateColor"), DAHUA_COLOUR_CODES,
                            DAHUA_COLOUR_NAMES) or prefix_colour
    stated = confidence(plate_info.get("Confidence"))
    # The picture matters most when the plate could not be read: the operator looks.
    crop, dropped = base64_picture(_object(pic.get("CutoutPic"), "CutoutPic").get("Content"))
    # The panorama shows which vehicle it was; the vehicle close-up if there is none.
    # A scene of an odd shape is left out, never a reason to refuse the read.
    scene = next((found for key in ("NormalPic", "VehiclePic")
                  if isinstance(pic.get(key), dict)
                  and (found := base64_scene(pic[key].get("Content")))), None)
    return VendorEvent(
        "dahua", plate, colour if plate else None,
        (UNSTATED_CONFIDENCE if stated is None else stated) if plate else 0.0,
        local_time(raw, camera_zone), str(event_id) if event_id else None, crop,
        vehicle_seen=plate is None, device=device, raw_time=str(raw) if raw else None,
        picture_dropped=dropped, ignored="no plate" if plate is None else None,
        scene_jpeg=scene)


def _instant(data: dict[str, Any], zone: timezone) -> Any:
    """RealUTC when given; else UTC (local wall-clock time as an epoch) less the zone."""
    real = epoch(data.get("RealUTC"))
    if real is not None:
        return real
    local = epoch(data.get("UTC"))
    if local is None:
        return None
    camera_zone = dahua_zone(data.get("TimeZone"), zone) if "TimeZone" in data else zone
    return local - (camera_zone.utcoffset(None) or timedelta(0))


def _traffic_event(event: Any, device: str, zone: timezone) -> VendorEvent:
    if not isinstance(event, dict):
        raise VendorPayloadError("VENDOR_BAD_JSON", "an event is not an object")
    code = str(event.get("Code") or "")
    data = event.get("Data") or {}
    if code not in TRAFFIC_EVENTS or not isinstance(data, dict):
        return heartbeat("dahua", device, f"event {code or '?'}")
    car = data.get("TrafficCar") or {}
    obj = data.get("Object") or {}
    if not isinstance(car, dict) or not isinstance(obj, dict):
        raise VendorPayloadError("VENDOR_BAD_SHAPE", "TrafficCar and Object must be objects")
    plate, prefix_colour = plate_of(car.get("PlateNumber") or obj.get("Text"))
    colour = colour_by_code(car.get("PlateColor"), DAHUA_NET_COLOUR_CODES,
                            DAHUA_COLOUR_NAMES) or prefix_colour
    stated = confidence(car.get("Confidence") if car.get("Confidence") is not None
                        else obj.get("Confidence"))
    event_id = data.get("EventID") or car.get("RecNo") or data.get("GroupID")
    raw = data.get("UTC")
    raw_time = None if raw is None else f"{raw}.{data.get('UTCMS', 0)}"
    return VendorEvent(
        "dahua", plate, colour if plate else None,
        (UNSTATED_CONFIDENCE if stated is None else stated) if plate else 0.0,
        _instant(data, zone), str(event_id) if event_id is not None else None,
        vehicle_seen=plate is None, device=device, raw_time=raw_time,
        ignored="no plate" if plate is None else None)


def parse(body: bytes, content_type: str, *, zone: timezone = CN) -> list[VendorEvent]:
    if kind_of(content_type, body) != "json":
        raise VendorPayloadError("VENDOR_UNSUPPORTED_TYPE",
                                 f"unsupported content type {content_type!r}")
    doc = json_of(body, content_type)
    if not isinstance(doc, dict):
        raise VendorPayloadError("VENDOR_BAD_JSON", "the event is not a JSON object")
    if "Picture" in doc:
        return [_picture_upload(doc, zone)]
    events: Any = None
    if "Events" in doc:
        events = doc["Events"]
    elif isinstance(doc.get("params"), dict) and "eventList" in doc["params"]:
        events = doc["params"]["eventList"]  # the RPC2 event stream
    if events is not None:
        if not isinstance(events, list) or not events:
            raise VendorPayloadError("VENDOR_BAD_JSON", "the event list must be non-empty")
        device = f"{doc.get('DeviceID') or (doc.get('params') or {}).get('SID') or ''}" \
            f"/{doc.get('Channel', '')}"
        return [_traffic_event(e, device, zone) for e in events]
    if doc.get("Active") or set(doc) & {"KeepAlive", "Heartbeat"}:
        return [heartbeat("dahua", str(doc.get("DeviceID") or ""), "heartbeat")]
    if "DeviceID" in doc or "DeviceName" in doc:
        return [heartbeat("dahua", str(doc.get("DeviceID") or ""), "device info")]
    raise VendorPayloadError("VENDOR_UNKNOWN_EVENT", "neither a Picture nor an event list")
