"""Vendor ANPR pushes as real cameras send them, mapped to events: charsets, no-plate
markers, colour prefixes, colour tables per format, camera clocks, pictures that
never sink a read, multipart layouts, confidences, Dahua batches; malformed bodies get
stable codes."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from camera_adapters.vendor_common import settle, vendor_read_id
from camera_adapters.vendors import MAX_BODY_BYTES, VendorPayloadError, parse
from tests.vendor_payloads import (
    JPEG,
    dahua_events,
    dahua_picture,
    dahua_rpc2,
    hik_heartbeat,
    hik_json,
    hik_multipart,
    hik_xml,
)


def one(vendor: str, body: bytes, content_type: str):  # type: ignore[no-untyped-def]
    (event,) = parse(vendor, body, content_type)
    return event


def test_hikvision_xml_event() -> None:
    event = one("hikvision", hik_xml(), "application/xml; charset=UTF-8")
    assert (event.plate, event.colour, event.confidence) == ("苏E12345", "yellow", 0.96)
    assert event.camera_time == datetime(2026, 11, 22, 1, 0, tzinfo=UTC)
    read = event.to_read("P1-IN", event.camera_time)
    assert read.lane == "P1-IN" and read.source == "vendor"
    # A retried push is the same read; the id names the camera (MAC/channel) and, for a
    # short id, the camera's own capture time.
    assert read.read_id == one("hikvision", hik_xml(), "application/xml").read_id
    assert read.read_id == "hikvision:10.20.1.31-1:7c4b-0001:2026-11-22T09:00:00-08:00"


def test_vendor_read_ids_name_the_device_and_keep_the_raw_time_for_counters() -> None:
    first = vendor_read_id("dahua", "ITC-A/0", "4711", "2026-11-22 09:00:01")
    assert first != vendor_read_id("dahua", "ITC-B/0", "4711", "2026-11-22 09:00:01")
    # A counter that restarted: the same number at another time is another read.
    assert first != vendor_read_id("dahua", "ITC-A/0", "4711", "2026-11-23 10:00:00")
    assert first == vendor_read_id("dahua", "ITC-A/0", "4711", "2026-11-22 09:00:01")
    long_uuid = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
    long = vendor_read_id("hikvision", "a4:14:37:00:00:01/1", long_uuid, "2026-11-22T09:00:00")
    assert long is not None and len(long) <= 64 and long.startswith("hikvision:")
    assert vendor_read_id("dahua", "X", None, "t") is None


# --- 1. charsets -----------------------------------------------------------------------------

@pytest.mark.parametrize("charset", ["GB2312", "GBK", "gb18030"])
def test_gb_declared_xml_is_decoded_by_its_charset(charset: str) -> None:
    xml = hik_xml(plate="苏E12345").decode().replace('encoding="UTF-8"', f'encoding="{charset}"')
    event = one("hikvision", xml.encode("gb18030"), "application/xml")
    assert event.plate == "苏E12345"
    header = one("hikvision", xml.encode("gb18030"), f"application/xml; charset={charset}")
    assert header.plate == "苏E12345"


def test_gbk_json_by_its_charset_and_bad_bytes_are_a_vendor_code() -> None:
    body = hik_json("苏E1234挂").decode().encode("gbk")
    assert one("hikvision", body, "application/json; charset=GBK").plate == "苏E1234挂"
    with pytest.raises(VendorPayloadError) as caught:
        parse("hikvision", body, "application/json")  # said to be UTF-8: it is not
    assert caught.value.code == "VENDOR_BAD_ENCODING"
    with pytest.raises(VendorPayloadError) as caught:
        parse("hikvision", hik_xml(), "application/xml; charset=klingon")
    assert caught.value.code == "VENDOR_BAD_ENCODING"


# --- 2. no-plate markers ---------------------------------------------------------------------

@pytest.mark.parametrize("marker", ["noPlate", "NOPLATE", "无车牌", "unknown", "Unlicensed"])
def test_no_plate_markers_are_unreadable_plates_not_plates(marker: str) -> None:
    event = one("hikvision", hik_xml(plate=marker), "application/xml")
    assert event.plate is None and event.vehicle_seen and event.decides


def test_dahua_unlicensed_vehicle_is_an_unreadable_plate() -> None:
    event = one("dahua", dahua_picture(plate="unlicensed"), "application/json")
    assert event.plate is None and event.vehicle_seen and event.crop_jpeg == JPEG


# --- 3. colour prefixes ------------------------------------------------------------------------

def test_a_colour_prefix_comes_off_only_when_the_rest_is_a_plate() -> None:
    assert one("hikvision", hik_xml(plate="黄苏E12345"), "application/xml").plate == "苏E12345"
    heilongjiang = one("hikvision", hik_xml(plate="黑AD12345", colour="unknown"),
                       "application/xml")
    assert heilongjiang.plate == "黑AD12345" and heilongjiang.colour is None
    nev = one("hikvision", hik_xml(plate="绿苏AD12345", colour="unknown"), "application/xml")
    assert (nev.plate, nev.colour) == ("苏AD12345", "green")  # the prefix's colour
    stated = one("hikvision", hik_xml(plate="蓝苏A12345", colour="yellow"), "application/xml")
    assert (stated.plate, stated.colour) == ("苏A12345", "yellow")  # plateColor wins


def test_camera_misreads_that_the_format_settles_are_fixed() -> None:
    assert one("hikvision", hik_xml(plate="苏E1234O"), "application/xml").plate == "苏E12340"


# --- 4. camera clocks ----------------------------------------------------------------------------

def test_dahua_utc_is_local_time_written_as_an_epoch() -> None:
    # RealUTC is the instant; without it, UTC less the zone its TimeZone index names.
    real = one("dahua", dahua_events(utc=1795338001, real_utc=1795309201), "application/json")
    assert real.camera_time == datetime.fromtimestamp(1795309201, UTC)
    zoned = one("dahua", dahua_events(utc=1795338001, time_zone=13), "application/json")
    assert zoned.camera_time == datetime.fromtimestamp(1795338001 - 8 * 3600, UTC)


def test_a_tollgate_upload_honours_its_own_time_zone() -> None:
    plus_seven = json.loads(dahua_picture())
    plus_seven["Picture"]["SnapInfo"]["TimeZone"] = 12  # GMT+07:00 in Dahua's index
    event = one("dahua", json.dumps(plus_seven).encode(), "application/json")
    assert event.camera_time == datetime(2026, 11, 22, 2, 0, 1, 250000, tzinfo=UTC)
    default = one("dahua", dahua_picture(), "application/json")  # China
    assert default.camera_time == datetime(2026, 11, 22, 1, 0, 1, 250000, tzinfo=UTC)


def test_untrustworthy_camera_times_give_way_to_the_arrival_time() -> None:
    received = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)
    day = timedelta(hours=24)
    assert settle(datetime(2034, 1, 1, tzinfo=UTC), received, day) == (received, True)
    assert settle(received - timedelta(days=3), received, day) == (received, True)
    assert settle(None, received, day) == (received, True)
    # A buffered resend within the bound keeps its own time.
    buffered = received - timedelta(hours=5)
    assert settle(buffered, received, day) == (buffered, False)
    assert settle(received + timedelta(minutes=2), received, day)[1] is False


def test_an_unreadable_time_keeps_the_read() -> None:
    doc = json.loads(dahua_picture())
    doc["Picture"]["SnapInfo"]["AccurateTime"] = "yesterday-ish"
    event = one("dahua", json.dumps(doc).encode(), "application/json")
    assert event.plate == "苏E12345" and event.camera_time is None
    assert event.raw_time == "yesterday-ish"


# --- 5. colours by each format's table ---------------------------------------------------------

@pytest.mark.parametrize(("value", "colour"), [
    ("Blue", "blue"), ("Yellow", "yellow"), ("YellowGreen", "yellow_green"),
    ("ShadowGreen", "green"), ("BlackBottomWhiteText", "black"),
    ("YellowbottomBlackText", "yellow"), ("BluebottomWhiteText", "blue"),
    ("2", "blue"), ("3", "yellow"), ("9", "yellow_green"), ("0", None), ("1", None),
    ("6", None), ("Purple", None)])
def test_dahua_tollgate_colours_follow_em_plate_color_type(value: str, colour: str | None) -> None:
    assert one("dahua", dahua_picture(colour=value), "application/json").colour == colour


@pytest.mark.parametrize(("value", "colour"), [
    (1, "blue"), (2, "yellow"), (3, "white"), (4, "black"), (8, "green"), (9, "yellow_green"),
    (0, None), ("Blue", "blue"), ("Unknown", None)])
def test_dahua_traffic_event_colours_follow_em_net_plate_color_type(value: object,
                                                                     colour: str | None) -> None:
    assert one("dahua", dahua_events(colour=value), "application/json").colour == colour


@pytest.mark.parametrize(("value", "colour"), [
    ("blue", "blue"), ("newEnergyGreen", "green"), ("newEnergyYellowGreen", "yellow_green"),
    ("civilAviationGreen", None), ("civilAviationBlack", None), ("golden", None),
    ("other", None)])
def test_hikvision_colours_by_name(value: str, colour: str | None) -> None:
    assert one("hikvision", hik_xml(colour=value), "application/xml").colour == colour


# --- 6 and 7. pictures ------------------------------------------------------------------------

def test_a_broken_picture_is_dropped_and_the_read_kept() -> None:
    doc = json.loads(dahua_picture())
    doc["Picture"]["CutoutPic"]["Content"] = "%%% not base64 %%%"
    bad = one("dahua", json.dumps(doc).encode(), "application/json")
    assert bad.plate == "苏E12345" and bad.crop_jpeg is None
    assert bad.picture_dropped == "VENDOR_BAD_PICTURE"
    doc["Picture"]["CutoutPic"]["Content"] = base64.b64encode(JPEG[:3] + b"0" * (1 << 20)).decode()
    large = one("dahua", json.dumps(doc).encode(), "application/json")
    assert large.plate == "苏E12345" and large.picture_dropped == "VENDOR_PICTURE_TOO_LARGE"
    gif, content_type = hik_multipart(picture=b"GIF89a" + b"\x00" * 20)
    not_jpeg = one("hikvision", gif, content_type)
    assert not_jpeg.plate == "苏E12345" and not_jpeg.picture_dropped == "CROP_NOT_JPEG"


def test_multipart_pictures_as_octet_stream_and_named_by_their_pid() -> None:
    body, content_type = hik_multipart()
    assert one("hikvision", body, content_type).crop_jpeg == JPEG
    listed = hik_xml(pictures=[("detectionPicture", "pic-001"), ("licensePlatePicture",
                                                                   "pic-002")])
    body, content_type = hik_multipart(listed, picture_name="pic-002",
                                       picture_type="application/octet-stream",
                                       scene_name="pic-001")
    event = one("hikvision", body, content_type)
    assert event.crop_jpeg == JPEG


def test_hikvision_json_event() -> None:
    event = one("hikvision", hik_json("苏E1234挂"), "application/json")
    assert event.plate == "苏E1234挂" and event.confidence == 0.91


# --- 8. confidence ---------------------------------------------------------------------------------

def test_hikvision_confidence_is_a_percentage() -> None:
    assert one("hikvision", hik_xml(confidence=1), "application/xml").confidence == 0.01
    assert one("hikvision", hik_xml(confidence=100), "application/xml").confidence == 1.0


# --- 9. Dahua batches ----------------------------------------------------------------------------------

def test_every_event_of_a_dahua_batch_is_read() -> None:
    events = parse("dahua", dahua_events(plates=["苏E12345", "苏A88888", "unlicensed"]),
                   "application/json")
    assert [e.plate for e in events] == ["苏E12345", "苏A88888", None]
    assert len({e.read_id for e in events}) == 3
    stream = parse("dahua", dahua_rpc2(["苏E12345", "苏A88888"]), "application/json")
    assert [e.plate for e in stream] == ["苏E12345", "苏A88888"]


def test_heartbeats_and_device_info_are_ignored_not_errors() -> None:
    assert one("hikvision", hik_heartbeat(), "application/xml").ignored == "event videoloss"
    keepalive = one("dahua", b'{"Active": "keepAlive", "DeviceID": "ITC-1"}', "application/json")
    assert keepalive.ignored == "heartbeat" and keepalive.device == "ITC-1"
    info = one("dahua", b'{"DeviceID": "ITC-1", "DeviceName": "gate", "DeviceType": "Tollgate"}',
               "application/json")
    assert info.ignored == "device info" and not info.decides


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


def test_oversized_body_is_rejected_before_parsing() -> None:
    with pytest.raises(VendorPayloadError) as caught:
        parse("hikvision", b"<" + b"a" * MAX_BODY_BYTES, "application/xml")
    assert caught.value.code == "PAYLOAD_TOO_LARGE"


# --- GA/T 1400 --------------------------------------------------------------------------------------------

def test_gat1400_motor_vehicles_become_events() -> None:
    from camera_adapters.gat1400 import motor_vehicles
    from tests.vendor_payloads import gat1400_vehicles

    vehicles = motor_vehicles(gat1400_vehicles([("苏E12345", 6), ("", 5)]), "application/VIID+JSON")
    first, second = vehicles
    assert (first.event.plate, first.event.colour) == ("苏E12345", "yellow")
    assert first.event.camera_time == datetime(2026, 11, 22, 1, 0, 0, tzinfo=UTC)
    assert first.event.crop_jpeg == JPEG and first.device_id == "32010000001190000001"
    assert second.event.plate is None and second.event.vehicle_seen


SCENE = b"\xff\xd8\xff\xe0" + b"\x01" * 64 + b"\xff\xd9"  # a JPEG unlike the crop


def test_each_vendors_scene_picture_comes_with_its_read() -> None:
    from camera_adapters.gat1400 import motor_vehicles
    from tests.vendor_payloads import gat1400_vehicles

    doc = json.loads(dahua_picture())
    doc["Picture"]["NormalPic"]["Content"] = base64.b64encode(SCENE).decode()
    dahua = one("dahua", json.dumps(doc).encode(), "application/json")
    assert dahua.crop_jpeg == JPEG and dahua.scene_jpeg == SCENE
    assert dahua.to_read("P1-IN", datetime.now(UTC)).scene_jpeg == SCENE
    del doc["Picture"]["NormalPic"]  # the vehicle close-up, when there is no panorama
    doc["Picture"]["VehiclePic"] = {"Content": base64.b64encode(SCENE).decode()}
    assert one("dahua", json.dumps(doc).encode(), "application/json").scene_jpeg == SCENE

    gat = json.loads(gat1400_vehicles([("苏E12345", 6)]))
    images = gat["MotorVehicleListObject"]["MotorVehicleObject"][0]["SubImageList"][
        "SubImageInfoObject"]
    next(i for i in images if i["Type"] == "01")["Data"] = base64.b64encode(SCENE).decode()
    (vehicle,) = motor_vehicles(json.dumps(gat).encode(), "application/VIID+JSON")
    assert vehicle.event.crop_jpeg == JPEG and vehicle.event.scene_jpeg == SCENE

    listed = hik_xml(pictures=[("detectionPicture", "pic-001"), ("licensePlatePicture",
                                                                   "pic-002")])
    body, content_type = hik_multipart(listed, picture_name="pic-002", scene_name="pic-001",
                                       scene=SCENE)
    hik = one("hikvision", body, content_type)
    assert hik.crop_jpeg == JPEG and hik.scene_jpeg == SCENE
    # No scene sent, or one that is no JPEG: the read is kept without one.
    assert one("hikvision", *hik_multipart()).scene_jpeg is None
    doc["Picture"]["VehiclePic"]["Content"] = base64.b64encode(b"GIF89a").decode()
    assert one("dahua", json.dumps(doc).encode(), "application/json").scene_jpeg is None
    doc["Picture"]["VehiclePic"] = "scene.jpg"  # an odd shape: no scene, the read kept
    odd = one("dahua", json.dumps(doc).encode(), "application/json")
    assert odd.plate == "苏E12345" and odd.crop_jpeg == JPEG and odd.scene_jpeg is None


def test_a_camera_scene_of_megabytes_is_shrunk_to_what_the_booth_shows() -> None:
    import cv2
    import numpy as np

    from camera_adapters.vendor_common import scene_picture

    rng = np.random.default_rng(3)
    big = cv2.imencode(".jpg", rng.integers(0, 255, (1520, 2688, 3), dtype=np.uint8),
                       [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()
    assert len(big) > 1024 * 1024  # what a 4 MP camera sends
    shrunk = scene_picture(big)
    assert shrunk is not None and len(shrunk) < len(big) // 2
    image = cv2.imdecode(np.frombuffer(shrunk, np.uint8), cv2.IMREAD_COLOR)
    assert max(image.shape[:2]) == 960
    assert scene_picture(b"\xff\xd8\xff" + b"\x00" * (300 * 1024)) is None  # undecodable
