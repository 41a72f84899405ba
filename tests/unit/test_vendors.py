"""Vendor ANPR pushes mapped to PlateRead; malformed bodies get stable codes."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from camera_adapters.vendors import MAX_BODY_BYTES, VendorPayloadError, parse
from tests.vendor_payloads import (
    JPEG,
    dahua_events,
    dahua_picture,
    hik_heartbeat,
    hik_json,
    hik_multipart,
    hik_xml,
)


def test_hikvision_xml_event() -> None:
    event = parse("hikvision", hik_xml(), "application/xml; charset=UTF-8")
    assert (event.plate, event.colour, event.confidence) == ("苏E12345", "yellow", 0.96)
    assert event.seen_at == datetime(2026, 11, 22, 1, 0, tzinfo=UTC)
    read = event.to_read("P1-IN")
    assert read.lane == "P1-IN" and read.source == "vendor"
    # A retried push is the same read; the id names the camera (MAC/channel) and, for a
    # short id, the camera's own capture time.
    assert read.read_id == parse("hikvision", hik_xml(), "application/xml").to_read("X").read_id
    assert read.read_id == "hikvision:-1:7c4b-0001:2026-11-22T09:00:00-08:00"


def test_vendor_read_ids_name_the_device_and_keep_the_raw_time_for_counters() -> None:
    from camera_adapters.vendors import vendor_read_id

    one = vendor_read_id("dahua", "ITC-A/0", "4711", "2026-11-22 09:00:01")
    assert one != vendor_read_id("dahua", "ITC-B/0", "4711", "2026-11-22 09:00:01")
    # A counter that restarted: the same number at another time is another read.
    assert one != vendor_read_id("dahua", "ITC-A/0", "4711", "2026-11-23 10:00:00")
    assert one == vendor_read_id("dahua", "ITC-A/0", "4711", "2026-11-22 09:00:01")
    long_uuid = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
    long = vendor_read_id("hikvision", "a4:14:37:00:00:01/1", long_uuid, "2026-11-22T09:00:00")
    assert long is not None and len(long) <= 64 and long.startswith("hikvision:")
    assert vendor_read_id("dahua", "X", None, "t") is None


def test_hikvision_multipart_carries_the_plate_picture() -> None:
    body, content_type = hik_multipart()
    event = parse("hikvision", body, content_type)
    assert event.plate == "苏E12345" and event.crop_jpeg == JPEG


def test_hikvision_json_event() -> None:
    event = parse("hikvision", hik_json("苏E1234挂"), "application/json")
    assert event.plate == "苏E1234挂" and event.confidence == 0.91


def test_hikvision_heartbeat_and_no_plate_are_ignored_not_errors() -> None:
    assert parse("hikvision", hik_heartbeat(), "application/xml").ignored == "event videoloss"
    event = parse("hikvision", hik_xml(plate="无车牌"), "application/xml")
    assert event.plate is None and event.ignored == "no plate"


def test_camera_misreads_that_the_format_settles_are_fixed() -> None:
    event = parse("hikvision", hik_xml(plate="苏E1234O"), "application/xml")
    assert event.plate == "苏E12340"
    assert parse("hikvision", hik_xml(plate="黄苏E12345"), "application/xml").plate == "苏E12345"


def test_dahua_picture_upload() -> None:
    event = parse("dahua", dahua_picture(colour="YellowGreen", plate="苏E12345D"),
                  "application/json")
    assert (event.plate, event.colour, event.confidence) == ("苏E12345D", "yellow_green", 0.88)
    assert event.crop_jpeg == JPEG
    assert event.seen_at == datetime(2026, 11, 22, 1, 0, 1, 250000, tzinfo=UTC)
    assert event.to_read("P1-IN").read_id.startswith("dahua:ITC-P1-IN-")


def test_dahua_traffic_junction_event() -> None:
    event = parse("dahua", dahua_events(), "application/json")
    assert (event.plate, event.colour, event.event_id) == ("苏E12345", "blue", "41230")
    assert event.seen_at.tzinfo is not None


@pytest.mark.parametrize(("vendor", "body", "content_type", "code"), [
    ("hikvision", b"<EventNotificationAlert><eventType>ANPR", "application/xml", "VENDOR_BAD_XML"),
    ("hikvision", b"<Other/>", "application/xml", "VENDOR_UNKNOWN_EVENT"),
    ("hikvision", b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>'
                  b"<EventNotificationAlert>&a;</EventNotificationAlert>", "application/xml",
     "VENDOR_FORBIDDEN_XML"),
    ("hikvision", b"<EventNotificationAlert><eventType>ANPR</eventType></EventNotificationAlert>",
     "application/xml", "VENDOR_MISSING_FIELD"),
    ("hikvision", b"--x\r\n\r\nnothing\r\n--x--\r\n", "multipart/form-data", "VENDOR_BAD_MULTIPART"),
    ("hikvision", b"plain text", "text/plain", "VENDOR_UNSUPPORTED_TYPE"),
    ("hikvision", b"   ", "application/xml", "VENDOR_EMPTY"),
    ("dahua", b"{not json", "application/json", "VENDOR_BAD_JSON"),
    ("dahua", b"[1, 2]", "application/json", "VENDOR_BAD_JSON"),
    ("dahua", b'{"Picture": {"Plate": [1], "SnapInfo": {}}}', "application/json",
     "VENDOR_BAD_JSON"),
    ("dahua", b'{"Events": [{"Code": "TrafficJunction", "Data": {"TrafficCar": [1]}}]}',
     "application/json", "VENDOR_BAD_SHAPE"),
    ("dahua", b'{"Something": 1}', "application/json", "VENDOR_UNKNOWN_EVENT"),
    ("dahua", b"<xml/>", "application/xml", "VENDOR_UNSUPPORTED_TYPE"),
    ("axis", b"{}", "application/json", "VENDOR_UNKNOWN"),
])
def test_malformed_bodies_have_stable_codes(vendor: str, body: bytes, content_type: str,
                                            code: str) -> None:
    with pytest.raises(VendorPayloadError) as caught:
        parse(vendor, body, content_type)
    assert caught.value.code == code


def test_bad_times_and_pictures_are_rejected() -> None:
    doc = json.loads(dahua_picture())
    doc["Picture"]["SnapInfo"]["AccurateTime"] = "yesterday-ish"
    with pytest.raises(VendorPayloadError) as caught:
        parse("dahua", json.dumps(doc).encode(), "application/json")
    assert caught.value.code == "VENDOR_BAD_TIME"
    doc = json.loads(dahua_picture())
    doc["Picture"]["CutoutPic"]["Content"] = base64.b64encode(b"\xff\xd8" + b"0" * (1 << 20)).decode()
    with pytest.raises(VendorPayloadError) as caught:
        parse("dahua", json.dumps(doc).encode(), "application/json")
    assert caught.value.code == "VENDOR_PICTURE_TOO_LARGE"


def test_oversized_body_is_rejected_before_parsing() -> None:
    with pytest.raises(VendorPayloadError) as caught:
        parse("hikvision", b"<" + b"a" * MAX_BODY_BYTES, "application/xml")
    assert caught.value.code == "PAYLOAD_TOO_LARGE"
