"""Plate events pushed by gate cameras that read plates themselves (vendor ANPR): one
entry point over the vendors' formats (camera_adapters.hikvision, .dahua, .gat1400).

The lane comes from where the camera pushes (a lane's URL, or the camera registry
mapping the device's id to its lane). Heartbeats and other alarms are acknowledged
and ignored; a vehicle whose plate could not be read is an event too (G06);
malformed bodies raise VendorPayloadError with a stable code.
"""

from __future__ import annotations

from datetime import timezone

from . import dahua, hikvision
from .vendor_common import (
    CN,
    MAX_BODY_BYTES,
    NO_PLATE,
    VendorEvent,
    VendorPayloadError,
    plate_of,
    vendor_read_id,
)

VENDORS = ("hikvision", "dahua")

__all__ = ["MAX_BODY_BYTES", "NO_PLATE", "VENDORS", "VendorEvent", "VendorPayloadError",
           "parse", "plate_of", "vendor_read_id"]


def parse(vendor: str, body: bytes, content_type: str, *, zone: timezone = CN
          ) -> list[VendorEvent]:
    """Every event in a push (Dahua batches several); `zone`: the camera's local time
    where its format writes times without one."""
    if len(body) > MAX_BODY_BYTES:
        raise VendorPayloadError("PAYLOAD_TOO_LARGE", f"the body exceeds {MAX_BODY_BYTES} bytes")
    if not body.strip():
        raise VendorPayloadError("VENDOR_EMPTY", "the body is empty")
    parser = {"hikvision": hikvision.parse, "dahua": dahua.parse}.get(vendor)
    if parser is None:
        raise VendorPayloadError("VENDOR_UNKNOWN", f"unknown vendor {vendor!r}")
    try:
        return parser(body, content_type or "", zone=zone)
    except (AttributeError, TypeError, KeyError) as exc:
        # A field of the wrong shape somewhere deep (a list where an object belongs).
        raise VendorPayloadError("VENDOR_BAD_SHAPE", f"unexpected event structure: {exc}") from exc
