"""GA/T 1400 (公安视频图像信息应用系统, "视图库") as a receiving platform needs it:
device registration, keep-alive and un-registration, and motor-vehicle objects
pushed to `/VIID/MotorVehicles`.

The standard's text is not freely available; this follows its structure as public
implementations use it (README, Cameras): JSON bodies (`application/VIID+JSON`) with
`RegisterObject` / `KeepaliveObject` / `UnRegisterObject` {DeviceID}, answered with a
`ResponseStatusObject` {Id, RequestURL, StatusCode "0", StatusString, LocalTime
yyyyMMddHHmmss}; and `MotorVehicleListObject` {MotorVehicleObject: [{MotorVehicleID,
DeviceID, PassTime yyyyMMddHHmmss (device local time), HasPlate, PlateNo, PlateColor
(the standard's colour table: 1 black, 2 white, 5 blue, 6 yellow, 9 green),
PlateReliability, SubImageList {SubImageInfoObject: [{Type, Data (base64)}]}}]},
answered per object in a `ResponseStatusListObject`. Sub-image type "02" is the
plate crop (车牌彩色小图); "01" (车辆大图) or "14" (场景图) is the scene the booth shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from .vendor_common import (
    CN,
    GAT1400_COLOURS,
    UNSTATED_CONFIDENCE,
    VendorEvent,
    VendorPayloadError,
    base64_picture,
    base64_scene,
    colour_by_code,
    json_of,
    local_time,
    percent,
    plate_of,
)

PLATE_CROP = "02"
# Pictures of the scene, the preferred first: the vehicle picture (车辆大图), then the
# scene picture (场景图).
SCENE_TYPES = ("01", "14")
MAX_OBJECTS = 50
OK, OTHER_ERROR, INVALID_JSON_CONTENT = "0", "1", "8"


def device_of(body: bytes, content_type: str, wrapper: str) -> str:
    """The DeviceID of a RegisterObject / KeepaliveObject / UnRegisterObject."""
    doc = json_of(body, content_type)
    inner = doc.get(wrapper) if isinstance(doc, dict) else None
    device = inner.get("DeviceID") if isinstance(inner, dict) else None
    if not isinstance(device, str | int) or not str(device).strip():
        raise VendorPayloadError("VENDOR_MISSING_FIELD", f"{wrapper} without a DeviceID")
    return str(device).strip()[:64]


@dataclass(frozen=True)
class MotorVehicle:
    """One object of an upload: its id (for the per-object answer) and its event."""
    object_id: str
    device_id: str
    event: VendorEvent | None  # None: the object could not be read (answered with an error)
    problem: str | None = None


def motor_vehicles(body: bytes, content_type: str, *, zone: timezone = CN
                   ) -> list[MotorVehicle]:
    doc = json_of(body, content_type)
    listed = doc.get("MotorVehicleListObject") if isinstance(doc, dict) else None
    objects = listed.get("MotorVehicleObject") if isinstance(listed, dict) else None
    if isinstance(objects, dict):
        objects = [objects]
    if not isinstance(objects, list) or not objects:
        raise VendorPayloadError("VENDOR_MISSING_FIELD",
                                 "MotorVehicleListObject without MotorVehicleObject")
    if len(objects) > MAX_OBJECTS:
        raise VendorPayloadError("VENDOR_TOO_MANY_OBJECTS", f"more than {MAX_OBJECTS} objects")
    return [_vehicle(o, zone) for o in objects]


def _vehicle(obj: Any, zone: timezone) -> MotorVehicle:
    if not isinstance(obj, dict):
        return MotorVehicle("", "", None, "a MotorVehicleObject is not an object")
    object_id = str(obj.get("MotorVehicleID") or obj.get("SourceID") or "")[:64]
    device_id = str(obj.get("DeviceID") or "").strip()[:64]
    if not object_id or not device_id:
        return MotorVehicle(object_id, device_id, None, "MotorVehicleID and DeviceID are needed")
    has_plate = str(obj.get("HasPlate", "1")).strip().lower() not in ("0", "false", "no")
    plate, prefix_colour = plate_of(obj.get("PlateNo")) if has_plate else (None, None)
    colour = colour_by_code(obj.get("PlateColor"), GAT1400_COLOURS) or prefix_colour
    stated = percent(obj.get("PlateReliability"))
    raw = str(obj.get("PassTime") or "").strip() or None
    images = (obj.get("SubImageList") or {}).get("SubImageInfoObject") \
        if isinstance(obj.get("SubImageList"), dict) else None
    if isinstance(images, dict):
        images = [images]
    picture: tuple[bytes | None, str | None] = (None, None)
    scenes: dict[str, Any] = {}
    for image in images or []:
        if not isinstance(image, dict):
            continue
        kind = str(image.get("Type", "")).zfill(2)
        if kind == PLATE_CROP and picture == (None, None):
            picture = base64_picture(image.get("Data"))
        elif kind in SCENE_TYPES:
            scenes.setdefault(kind, image.get("Data"))
    scene = next((found for kind in SCENE_TYPES
                  if (found := base64_scene(scenes.get(kind)))), None)
    event = VendorEvent(
        "gat1400", plate, colour if plate else None,
        (UNSTATED_CONFIDENCE if stated is None else stated) if plate else 0.0,
        local_time(raw, zone), object_id, picture[0], vehicle_seen=plate is None,
        device=device_id, raw_time=raw, picture_dropped=picture[1],
        ignored="no plate" if plate is None else None, scene_jpeg=scene)
    return MotorVehicle(object_id, device_id, event)


def status(url: str, code: str = OK, text: str = "OK", object_id: str = "",
           now: datetime | None = None) -> dict[str, Any]:
    """A ResponseStatusObject."""
    when = (now or datetime.now(CN)).astimezone(CN)
    return {"Id": object_id, "RequestURL": url, "StatusCode": code, "StatusString": text,
            "LocalTime": when.strftime("%Y%m%d%H%M%S")}
