"""Hikvision ISAPI ANPR pushes: an `EventNotificationAlert` with eventType ANPR, as
XML (any namespace, any declared charset) or JSON, alone or as one part of a
multipart/form-data body whose other parts are the pictures.

The plate picture is the part `pictureInfoList` names with type licensePlatePicture
(matched by its fileName or pId, as newer firmware names the parts), else a part
named like licensePlatePicture.jpg; a JPEG is known by its magic bytes whatever the
part's content type says (some firmware sends application/octet-stream).
"""

from __future__ import annotations

from datetime import timezone
from pathlib import PurePath
from typing import Any
from xml.etree.ElementTree import Element

from .vendor_common import (
    CN,
    HIKVISION_COLOURS,
    UNSTATED_CONFIDENCE,
    Part,
    VendorEvent,
    VendorPayloadError,
    colour_by_name,
    jpeg_or_reason,
    json_of,
    kind_of,
    local_time,
    multipart,
    percent,
    plate_of,
    scene_picture,
    strip_ns,
    xml_of,
)

PLATE_PICTURE = "licenseplatepicture"
SCENE_PICTURES = ("detectionpicture", "vehiclepicture")


def _leaves(element: Element | None) -> dict[str, Any]:
    if element is None:
        return {}
    return {child.tag: (child.text or "").strip() for child in element if len(child) == 0}


def _from_xml(root: Element) -> dict[str, Any]:
    root = strip_ns(root)
    if root.tag != "EventNotificationAlert":
        raise VendorPayloadError("VENDOR_UNKNOWN_EVENT",
                                 f"expected EventNotificationAlert, got {root.tag}")
    out = _leaves(root)
    anpr = root.find("ANPR")
    if anpr is not None:
        out["ANPR"] = _leaves(anpr)
        pictures = anpr.find("pictureInfoList")
        if pictures is not None:
            out["ANPR"]["pictureInfoList"] = [_leaves(p) for p in pictures]
    pictures = root.find("pictureInfoList")
    if pictures is not None:
        out["pictureInfoList"] = [_leaves(p) for p in pictures]
    return out


def _event_part(parts: list[Part]) -> Part:
    for part in parts:
        if part.content_type.endswith(("xml", "json")) or \
                f"{part.name} {part.filename}".lower().endswith((".xml", ".json")):
            return part
    for part in parts:  # untyped: the text that looks like an event
        if part.payload.lstrip()[:1] in (b"<", b"{"):
            return part
    raise VendorPayloadError("VENDOR_NO_EVENT", "no XML or JSON part in the multipart body")


def _plate_picture_names(doc: dict[str, Any], kind_of_picture: str = PLATE_PICTURE
                         ) -> set[str]:
    """The names pictureInfoList gives the plate picture (fileName, pId), or the
    pictures of another type."""
    listed = [*(doc.get("pictureInfoList") or []),
              *((doc.get("ANPR") or {}).get("pictureInfoList") or [])]
    if isinstance(listed, dict):
        listed = [listed]
    names = set()
    for info in listed:
        if not isinstance(info, dict):
            continue
        kind = str(info.get("type") or info.get("fileName") or "").lower()
        if kind_of_picture in kind.replace("_", ""):
            names |= {str(info[k]).lower() for k in ("fileName", "pId") if info.get(k)}
    return names


def _plate_picture(parts: list[Part], named: set[str]) -> tuple[bytes | None, str | None]:
    def names(part: Part) -> set[str]:
        found = {part.name.lower(), part.filename.lower()}
        return found | {PurePath(n).stem for n in found if n}

    candidates = [p for p in parts if names(p) & named] or \
        [p for p in parts if any(PLATE_PICTURE in n for n in names(p))]
    reason = None
    for part in candidates:
        crop, reason = jpeg_or_reason(part.payload)
        if crop is not None:
            return crop, None
    return None, reason


def _scene_picture(parts: list[Part], doc: dict[str, Any]) -> bytes | None:
    """The scene (detectionPicture) or, failing it, the vehicle picture, as listed in
    pictureInfoList or named so."""
    for kind in SCENE_PICTURES:
        named = _plate_picture_names(doc, kind)
        for part in parts:
            found = {part.name.lower(), part.filename.lower()}
            found |= {PurePath(n).stem for n in found if n}
            if (found & named or any(kind in n for n in found)) and \
                    (scene := scene_picture(part.payload)) is not None:
                return scene
    return None


def parse(body: bytes, content_type: str, *, zone: timezone = CN) -> list[VendorEvent]:
    parts: list[Part] = []
    kind = kind_of(content_type, body)
    if kind == "multipart":
        parts = multipart(body, content_type)
        event = _event_part(parts)
        body = event.payload
        kind = "json" if event.content_type.endswith("json") or \
            f"{event.name} {event.filename}".lower().endswith(".json") or \
            event.payload.lstrip()[:1] == b"{" else "xml"
        content_type = event.content_type
    if kind == "json":
        doc = json_of(body, content_type)
        if not isinstance(doc, dict):
            raise VendorPayloadError("VENDOR_BAD_JSON", "the event is not a JSON object")
        doc = doc.get("EventNotificationAlert", doc)
    elif kind == "xml":
        doc = _from_xml(xml_of(body, content_type))
    else:
        raise VendorPayloadError("VENDOR_UNSUPPORTED_TYPE",
                                 f"unsupported content type {content_type!r}")
    device = f"{doc.get('macAddress') or doc.get('deviceID') or doc.get('ipAddress') or ''}" \
        f"/{doc.get('channelID') or ''}"
    event_type = str(doc.get("eventType") or "").strip()
    raw_time = str(doc.get("dateTime") or "").strip() or None
    if event_type.lower() != "anpr":
        # Heartbeats (videoloss/inactive) and other alarms share the push URL.
        return [VendorEvent("hikvision", None, None, 0.0, None, None,
                            ignored=f"event {event_type or 'without a type'}", device=device)]
    anpr = doc.get("ANPR")
    if not isinstance(anpr, dict):
        raise VendorPayloadError("VENDOR_MISSING_FIELD", "ANPR event without its ANPR block")
    plate, prefix_colour = plate_of(anpr.get("licensePlate") or anpr.get("originalLicensePlate"))
    event_id = doc.get("UUID") or doc.get("uuid")
    if event_id is None:
        # No UUID: the camera's post count is the id (a counter, kept with the time).
        event_id = doc.get("activePostCount") or anpr.get("serialNo")
    colour = colour_by_name(anpr.get("plateColor"), HIKVISION_COLOURS) or prefix_colour
    confidence = percent(anpr.get("confidenceLevel"))
    crop, dropped = _plate_picture(parts, _plate_picture_names(doc)) if parts else (None, None)
    scene = _scene_picture(parts, doc) if parts else None
    return [VendorEvent(
        "hikvision", plate, colour if plate else None,
        (UNSTATED_CONFIDENCE if confidence is None else confidence) if plate else 0.0,
        local_time(raw_time, zone), str(event_id) if event_id else None, crop,
        vehicle_seen=plate is None, device=device, raw_time=raw_time, picture_dropped=dropped,
        ignored="no plate" if plate is None else None, scene_jpeg=scene)]
