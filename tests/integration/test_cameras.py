"""Real cameras through the real HTTP endpoints: what firmware sends (charsets, no-plate
markers, 黑 plates, wrong clocks, broken pictures, octet-stream parts, percentages),
Dahua ITSAPI and GA/T 1400 devices signing with HTTP Digest and mapped to their lanes
by the camera registry, refused events kept for the integrator, metrics, and the
silent-camera alarm on the booth and /readyz."""

from __future__ import annotations

import json
import time
from datetime import timedelta, timezone
from typing import Any

from sqlalchemy import select

from gateway import cameras
from kernel import clock
from kernel.uow import unit_of_work
from models import Alarm, Camera, Passage, Vehicle, VendorRejection
from tests.factories import NOW, auth, login, make_world
from tests.vendor_payloads import (
    GAT_DEVICE,
    dahua_events,
    dahua_picture,
    dahua_rpc2,
    digest_post,
    gat1400_object,
    gat1400_vehicles,
    hik_multipart,
    hik_xml,
)

XML = {"Content-Type": "application/xml"}
JSON = {"Content-Type": "application/json"}


def lane_url(world: Any, vendor: str, lane: str = "P1-IN") -> str:
    """The lane's push URL with a token for it (the device token is bound to P1-IN)."""
    token = world.tokens["device" if lane == "P1-IN" else "gate_operator"]
    return f"/api/v1/lanes/{lane}/anpr/{vendor}?token={token}"


def add_camera(session_factory: Any, world: Any, vendor: str, device_id: str,
               lane: str | None, *, username: str | None = None,
               password: str | None = None, created_ago: timedelta = timedelta(0)) -> int:
    with session_factory() as s:
        camera = Camera(vendor=vendor, device_id=device_id,
                        lane_id=world.lanes[lane].id if lane else None,
                        protocol={"dahua": "itsapi", "gat1400": "viid"}.get(vendor, "push"),
                        username=username, secret_cipher=cameras.secret_of(username, password),
                        created_at=clock.now() - created_ago)
        s.add(camera)
        s.commit()
        return camera.id


def passages(session_factory: Any) -> list[Passage]:
    with session_factory() as s:
        return list(s.scalars(select(Passage).order_by(Passage.id)))


def rejections(session_factory: Any) -> list[VendorRejection]:
    with session_factory() as s:
        return list(s.scalars(select(VendorRejection).order_by(VendorRejection.id)))


def metric(client: Any, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in client.get("/metrics").get_data(as_text=True).splitlines():
        if line.startswith(f"{name}{{{wanted}}} "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


# --- the defects, through HTTP ----------------------------------------------------------------

def test_gb2312_declared_xml_is_decided_and_undecodable_bytes_are_a_400(client, session_factory):  # type: ignore[no-untyped-def]
    world = make_world(session_factory)
    body = hik_xml(plate="苏A88888", colour="blue").decode().replace(
        'encoding="UTF-8"', 'encoding="GB2312"').encode("gb2312")
    r = client.post(lane_url(world, "hikvision"), data=body, headers=XML)
    assert r.status_code == 201, r.json
    assert r.json["plate"] == "苏A88888"
    broken = body.replace("苏".encode("gb2312"), b"\xff\xff")
    r = client.post(lane_url(world, "hikvision"), data=broken, headers=XML)
    assert r.status_code == 400 and r.json["code"] == "VENDOR_BAD_ENCODING"
    (kept,) = rejections(session_factory)
    # The integrator sees exactly what the camera sent.
    assert kept.code == "VENDOR_BAD_ENCODING" and kept.body == broken and kept.vendor == "hikvision"


def test_a_no_plate_marker_is_a_hold_of_its_own_never_a_plate(client, session_factory):  # type: ignore[no-untyped-def]
    world = make_world(session_factory)
    first = client.post(lane_url(world, "hikvision"), data=hik_xml(plate="noPlate", uuid="n-1"),
                        headers=XML)
    second = client.post(lane_url(world, "hikvision"), data=hik_xml(plate="NOPLATE", uuid="n-2"),
                         headers=XML)
    third = client.post(lane_url(world, "dahua"), headers=JSON,
                        data=dahua_picture(plate="unlicensed", snap_id="77"))
    for r in (first, second, third):
        assert r.status_code == 201, r.json
        assert r.json["action"] == "HOLD_FOR_OPERATOR"
        assert [x["code"] for x in r.json["reasons"]] == ["PLATE_UNREADABLE"]
        assert not r.json["plate"]
    # Three vehicles without plates are three holds, never folded into one.
    assert len({r.json["id"] for r in (first, second, third)}) == 3


def test_a_heilongjiang_new_energy_plate_keeps_its_province(client, session_factory):  # type: ignore[no-untyped-def]
    world = make_world(session_factory)
    with session_factory() as s:
        s.add(Vehicle(plate="黑AD12345", plate_colour="green", kind="car", category="small",
                      created_at=NOW))
        s.commit()
    r = client.post(lane_url(world, "hikvision", "P2-IN"), headers=XML,
                    data=hik_xml(plate="黑AD12345", colour="unknown"))
    assert r.status_code == 201, r.json
    assert r.json["plate"] == "黑AD12345"
    assert "VEHICLE_UNKNOWN" not in [x["code"] for x in r.json["reasons"]]
    # A real colour prefix still comes off and gives the colour.
    r = client.post(lane_url(world, "hikvision", "P2-IN"), headers=XML,
                    data=hik_xml(plate="蓝苏A88888", colour="unknown", uuid="p-2"))
    assert (r.json["plate"], r.json["plate_colour"]) == ("苏A88888", "blue")


def test_camera_clocks_that_cannot_be_trusted_give_way_to_the_arrival(client, session_factory):  # type: ignore[no-untyped-def]
    world = make_world(session_factory)
    # A camera whose clock says 2034: the passage is dated when it arrived, the camera's
    # time kept beside it and flagged.
    future = int((NOW + timedelta(days=2700)).timestamp())
    r = client.post(lane_url(world, "dahua"), headers=JSON,
                    data=dahua_events("苏A88888", real_utc=future, utc=future + 8 * 3600))
    assert r.status_code == 201, r.json
    # A resend from the camera's buffer, two hours late, keeps the camera's time.
    earlier = int((NOW - timedelta(hours=2)).timestamp())
    r2 = client.post(lane_url(world, "dahua", "P2-IN"), headers=JSON,
                     data=dahua_events("苏A88888", real_utc=earlier, utc=earlier + 8 * 3600))
    assert r2.status_code == 201, r2.json
    overruled, kept = passages(session_factory)
    assert overruled.seen_at == NOW
    assert overruled.details["camera_clock_overruled"] is True
    # The camera's own words: Data.UTC (its local time as an epoch) and milliseconds.
    assert overruled.details["camera_time"].startswith(str(future + 8 * 3600))
    assert kept.seen_at == NOW - timedelta(hours=2)
    assert "camera_clock_overruled" not in kept.details
    # The camera retries the 2034 event: same read id (built from its raw time), no
    # second passage.
    again = client.post(lane_url(world, "dahua"), headers=JSON,
                        data=dahua_events("苏A88888", real_utc=future, utc=future + 8 * 3600))
    assert again.status_code == 200 and again.json["id"] == overruled.id


def test_a_broken_picture_never_costs_the_read(client, session_factory):  # type: ignore[no-untyped-def]
    world = make_world(session_factory)
    before = metric(client, "parkgate_camera_pictures_dropped_total", vendor="dahua",
                    reason="VENDOR_BAD_PICTURE")
    doc = json.loads(dahua_picture(plate="苏A88888", snap_id="5"))
    doc["Picture"]["CutoutPic"]["Content"] = "%%% not base64 %%%"
    r = client.post(lane_url(world, "dahua"), data=json.dumps(doc, ensure_ascii=False).encode(),
                    headers=JSON)
    assert r.status_code == 201, r.json
    assert r.json["plate"] == "苏A88888" and r.json["crop"] is False
    assert metric(client, "parkgate_camera_pictures_dropped_total", vendor="dahua",
                  reason="VENDOR_BAD_PICTURE") == before + 1
    # A Hikvision "picture" that is no JPEG: the read is kept without it.
    body, content_type = hik_multipart(hik_xml(plate="苏E12345", uuid="x-2"),
                                       picture=b"GIF89a....")
    r = client.post(lane_url(world, "hikvision"), data=body,
                    headers={"Content-Type": content_type})
    assert r.status_code == 201 and r.json["crop"] is False


def test_a_jpeg_sent_as_octet_stream_and_named_by_its_pid_is_kept(client, session_factory):  # type: ignore[no-untyped-def]
    world = make_world(session_factory)
    xml = hik_xml(plate="苏A88888", pictures=[("vehiclePicture", "scene-1"),
                                             ("licensePlatePicture", "plate-1")])
    body, content_type = hik_multipart(xml, picture_name="plate-1", scene_name="scene-1",
                                       picture_type="application/octet-stream")
    r = client.post(lane_url(world, "hikvision"), data=body,
                    headers={"Content-Type": content_type})
    assert r.status_code == 201, r.json
    assert r.json["crop"] is True


def test_a_one_percent_confidence_is_held_not_trusted(client, session_factory):  # type: ignore[no-untyped-def]
    world = make_world(session_factory)
    r = client.post(lane_url(world, "hikvision", "P2-IN"), headers=XML,
                    data=hik_xml(plate="苏A88888", colour="blue", confidence=1))
    assert r.status_code == 201
    assert r.json["confidence"] == 0.01
    assert "LOW_CONFIDENCE_READ" in [x["code"] for x in r.json["reasons"]]


def test_every_event_of_an_rpc2_batch_is_decided(client, session_factory):  # type: ignore[no-untyped-def]
    world = make_world(session_factory)
    r = client.post(lane_url(world, "dahua", "P2-IN"), headers=JSON,
                    data=dahua_rpc2(["苏A88888", "苏E12345", "unlicensed"]))
    assert r.status_code == 201, r.json
    assert [p["plate"] for p in r.json["items"]] == ["苏A88888", "苏E12345", None]
    assert len(passages(session_factory)) == 3


# --- Dahua ITSAPI: fixed paths, Digest, the lane from the registry ------------------------------

def test_a_dahua_itc_camera_pushes_to_its_fixed_paths_with_digest(client, session_factory):  # type: ignore[no-untyped-def]
    world = make_world(session_factory)
    camera_id = add_camera(session_factory, world, "dahua", "ITC-P2-IN", "P2-IN",
                           username="itc-north", password="Camera-Secret-77")
    body = dahua_picture(plate="苏A88888", colour="Blue", device="ITC-P2-IN", snap_id="9")
    unsigned = client.post("/NotificationInfo/TollgateInfo", data=body, headers=JSON)
    assert unsigned.status_code == 401 and unsigned.json["code"] == "CAMERA_UNAUTHORISED"
    assert unsigned.headers["WWW-Authenticate"].startswith('Digest realm="ParkGate"')
    wrong = digest_post(client, "/NotificationInfo/TollgateInfo", body, "itc-north", "guess")
    assert wrong.status_code == 401
    assert passages(session_factory) == []

    r = digest_post(client, "/NotificationInfo/TollgateInfo", body, "itc-north",
                    "Camera-Secret-77")
    assert r.status_code == 200, r.json
    assert r.json["Result"] is True and r.json["PlateNumber"] == "苏A88888"
    (passage,) = passages(session_factory)
    assert passage.lane_id == world.lanes["P2-IN"].id and passage.source == "vendor"

    clock.pin(NOW + timedelta(minutes=3))
    alive = digest_post(client, "/NotificationInfo/KeepAlive",
                        json.dumps({"DeviceID": "ITC-P2-IN"}).encode(), "itc-north",
                        "Camera-Secret-77")
    assert alive.status_code == 200
    with session_factory() as s:
        camera = s.get(Camera, camera_id)
        assert camera.last_heard_at == NOW + timedelta(minutes=3)
        assert camera.last_event_at == NOW
    assert len(passages(session_factory)) == 1


def test_a_dahua_device_the_registry_does_not_place_is_a_409_kept_for_the_integrator(client, session_factory):  # type: ignore[no-untyped-def]
    world = make_world(session_factory)
    add_camera(session_factory, world, "dahua", "ITC-NEW", None, username="itc-new",
               password="Camera-Secret-78")
    r = digest_post(client, "/NotificationInfo/TollgateInfo",
                    dahua_picture(device="ITC-NEW", snap_id="1"), "itc-new", "Camera-Secret-78")
    assert r.status_code == 409 and r.json["Result"] is False
    # A device id another platform account owns is no lane for this one either.
    add_camera(session_factory, world, "dahua", "ITC-OTHER", "P1-IN", username="someone-else",
               password="Camera-Secret-79")
    r = digest_post(client, "/NotificationInfo/TollgateInfo",
                    dahua_picture(device="ITC-OTHER", snap_id="2"), "itc-new", "Camera-Secret-78")
    assert r.status_code == 409
    assert passages(session_factory) == []
    assert [k.code for k in rejections(session_factory)] == ["CAMERA_NO_LANE"] * 2


# --- GA/T 1400 -----------------------------------------------------------------------------------

VIID = {"content_type": "application/VIID+JSON;charset=UTF-8"}


def test_gat1400_register_keepalive_and_motor_vehicles_through_digest(client, session_factory):  # type: ignore[no-untyped-def]
    world = make_world(session_factory)
    add_camera(session_factory, world, "gat1400", GAT_DEVICE, "P2-IN", username="viid-1",
               password="Viid-Secret-2026")
    register = gat1400_object("RegisterObject")
    unsigned = client.post("/VIID/System/Register", data=register,
                           headers={"Content-Type": VIID["content_type"]})
    assert unsigned.status_code == 401 and "Digest" in unsigned.headers["WWW-Authenticate"]

    r = digest_post(client, "/VIID/System/Register", register, "viid-1", "Viid-Secret-2026",
                    **VIID)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/VIID+JSON")
    status = json.loads(r.data)["ResponseStatusObject"]
    assert (status["StatusCode"], status["Id"]) == ("0", GAT_DEVICE)

    r = digest_post(client, "/VIID/System/Keepalive", gat1400_object("KeepaliveObject"),
                    "viid-1", "Viid-Secret-2026", **VIID)
    assert r.status_code == 200
    assert json.loads(r.data)["ResponseStatusObject"]["StatusCode"] == "0"

    # PassTime is the device's local time (China): 09:00 there is NOW.
    upload = gat1400_vehicles([("苏A88888", 5), ("", 0)], pass_time="20261122090000")
    r = digest_post(client, "/VIID/MotorVehicles", upload, "viid-1", "Viid-Secret-2026", **VIID)
    assert r.status_code == 200, r.get_data(as_text=True)
    answers = json.loads(r.data)["ResponseStatusListObject"]["ResponseStatusObject"]
    assert [a["StatusCode"] for a in answers] == ["0", "0"]
    car, unplated = passages(session_factory)
    assert (car.plate, car.plate_colour, car.lane_id) == ("苏A88888", "blue",
                                                          world.lanes["P2-IN"].id)
    assert car.seen_at == NOW and car.crop_sha256 is not None and car.source == "vendor"
    assert unplated.action == "HOLD_FOR_OPERATOR"
    assert [x["code"] for x in unplated.reasons] == ["PLATE_UNREADABLE"]
    # The same upload again (the device did not see the answer): nothing new.
    digest_post(client, "/VIID/MotorVehicles", upload, "viid-1", "Viid-Secret-2026", **VIID)
    assert len(passages(session_factory)) == 2
    assert metric(client, "parkgate_camera_events_total", vendor="gat1400",
                  outcome="decided") >= 2


def test_gat1400_user_identify_is_trusted_only_from_the_registered_address(client, session_factory):  # type: ignore[no-untyped-def]
    world = make_world(session_factory)
    add_camera(session_factory, world, "gat1400", GAT_DEVICE, "P2-IN", username="viid-1",
               password="Viid-Secret-2026")
    digest_post(client, "/VIID/System/Register", gat1400_object("RegisterObject"), "viid-1",
                "Viid-Secret-2026", **VIID)
    named = {"Content-Type": VIID["content_type"], "User-Identify": GAT_DEVICE}
    same = client.post("/VIID/System/Keepalive", data=gat1400_object("KeepaliveObject"),
                       headers=named)
    assert same.status_code == 200
    elsewhere = client.post("/VIID/MotorVehicles", data=gat1400_vehicles([("苏A88888", 5)]),
                            headers=named, environ_overrides={"REMOTE_ADDR": "10.9.9.9"})
    assert elsewhere.status_code == 401
    assert passages(session_factory) == []
    # Once it has unregistered, its name alone opens nothing.
    gone = digest_post(client, "/VIID/System/UnRegister", gat1400_object("UnRegisterObject"),
                       "viid-1", "Viid-Secret-2026", **VIID)
    assert gone.status_code == 200
    again = client.post("/VIID/System/Keepalive", data=gat1400_object("KeepaliveObject"),
                        headers=named)
    assert again.status_code == 401


def test_gat1400_objects_of_an_unknown_device_are_refused_one_by_one(client, session_factory):  # type: ignore[no-untyped-def]
    world = make_world(session_factory)
    add_camera(session_factory, world, "gat1400", GAT_DEVICE, "P2-IN", username="viid-1",
               password="Viid-Secret-2026")
    mixed = json.loads(gat1400_vehicles([("苏A88888", 5), ("苏E12345", 6)]))
    mixed["MotorVehicleListObject"]["MotorVehicleObject"][1]["DeviceID"] = "3201000000119000999"
    r = digest_post(client, "/VIID/MotorVehicles", json.dumps(mixed).encode(), "viid-1",
                    "Viid-Secret-2026", **VIID)
    answers = json.loads(r.data)["ResponseStatusListObject"]["ResponseStatusObject"]
    assert [a["StatusCode"] for a in answers] == ["0", "1"]
    assert [p.plate for p in passages(session_factory)] == ["苏A88888"]
    assert [k.code for k in rejections(session_factory)] == ["CAMERA_NO_LANE"]


# --- the registry, refused events, silence -------------------------------------------------------

def test_an_admin_registers_a_camera_and_it_signs_with_that_password(client, session_factory):  # type: ignore[no-untyped-def]
    world = make_world(session_factory)
    r = client.post("/api/v1/cameras", headers=auth(world.tokens["admin"]), json={
        "vendor": "dahua", "model": "DH-ITC237", "device_id": "ITC-P1-OUT",
        "lane_id": world.lanes["P1-OUT"].id, "protocol": "itsapi", "username": "itc-south",
        "password": "South-Gate-Cam-1"})
    assert r.status_code == 201, r.json
    assert "password" not in r.json and "secret_cipher" not in r.json
    r = digest_post(client, "/NotificationInfo/KeepAlive",
                    json.dumps({"DeviceID": "ITC-P1-OUT"}).encode(), "itc-south",
                    "South-Gate-Cam-1")
    assert r.status_code == 200
    status = client.get("/api/v1/camera-status", headers=auth(world.tokens["gate_operator"]))
    (row,) = status.json["items"]
    assert (row["device_id"], row["lane"], row["state"]) == ("ITC-P1-OUT", "P1-OUT", "ok")
    # Not for tenants.
    assert client.get("/api/v1/camera-status",
                      headers=auth(world.tokens["logistics_E1"])).status_code == 403


def test_refused_events_are_shown_downloadable_and_purged(client, session_factory):  # type: ignore[no-untyped-def]
    world = make_world(session_factory)
    body = "<EventNotificationAlert><licensePlate>苏A88888</licensePlate>".encode()
    client.post(lane_url(world, "hikvision"), data=body, headers=XML)
    r = client.get("/api/v1/camera-rejections", headers=auth(world.tokens["admin"]))
    (item,) = r.json["items"]
    assert item["code"] == "VENDOR_BAD_XML" and "EventNotificationAlert" in item["preview"]
    login(client, "admin")
    assert "不是有效的 XML" in client.get("/cameras").get_data(as_text=True)  # words first
    raw = client.get(f"/api/v1/camera-rejections/{item['id']}/body",
                     headers=auth(world.tokens["admin"]))
    assert raw.data == body and raw.mimetype == "application/octet-stream"
    assert raw.headers["Content-Disposition"].startswith("attachment")
    with unit_of_work(session_factory) as uow:
        assert cameras.purge_rejections(uow.session, NOW + timedelta(days=6)) == 0
        assert cameras.purge_rejections(uow.session, NOW + timedelta(days=8)) == 1
        uow.commit()
    assert rejections(session_factory) == []


def test_a_silent_camera_is_an_alarm_on_the_booth_and_in_readyz(client, session_factory):  # type: ignore[no-untyped-def]
    world = make_world(session_factory)
    camera_id = add_camera(session_factory, world, "dahua", "ITC-P1-IN", "P1-IN",
                           username="itc-1", password="Camera-Secret-80",
                           created_ago=timedelta(minutes=30))
    with unit_of_work(session_factory) as uow:
        assert cameras.watch(uow, clock.now()) == {"silent": 1, "raised": 1}
    with unit_of_work(session_factory) as uow:
        assert cameras.watch(uow, clock.now()) == {"silent": 1, "raised": 0}  # one alarm
    with session_factory() as s:
        (alarm,) = s.scalars(select(Alarm).where(Alarm.kind == "CAMERA_SILENT"))
        assert alarm.camera_id == camera_id and alarm.resolved_at is None
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert [c["device_id"] for c in ready.json["silent_cameras"]] == ["ITC-P1-IN"]
    login(client, "gate_operator")
    page = client.get("/booth/P1-IN").get_data(as_text=True)
    assert f'data-silent-camera="{camera_id}"' in page
    assert "自登记以来无任何消息" in page  # never heard: said as a sentence
    assert f'data-silent-camera="{camera_id}"' not in client.get("/booth/P2-IN").get_data(
        as_text=True)
    # An open booth asks again every minute (hx-trigger), so a page left open learns of it.
    assert 'hx-trigger="every 60s"' in page
    banner = client.get("/booth/P1-IN/silent-cameras").get_data(as_text=True)
    assert f'data-silent-camera="{camera_id}"' in banner
    cameras_page = client.get("/cameras").get_data(as_text=True)
    assert 'data-state="never_heard" data-alarm' in cameras_page

    # Heard again: the alarm resolves itself.
    digest_post(client, "/NotificationInfo/KeepAlive", json.dumps({"DeviceID": "ITC-P1-IN"})
                .encode(), "itc-1", "Camera-Secret-80")
    with unit_of_work(session_factory) as uow:
        assert cameras.watch(uow, clock.now()) == {"silent": 0, "raised": 0}
    with session_factory() as s:
        assert s.scalars(select(Alarm).where(Alarm.kind == "CAMERA_SILENT")).one().resolved_at
    assert client.get("/readyz").json["silent_cameras"] == []
    assert "data-silent-camera" not in client.get("/booth/P1-IN/silent-cameras").get_data(
        as_text=True)


def test_a_nonce_past_its_time_is_answered_stale_not_refused(client, session_factory):  # type: ignore[no-untyped-def]
    from gateway import digest

    world = make_world(session_factory)
    add_camera(session_factory, world, "dahua", "ITC-P1-IN", "P1-IN", username="itc-1",
               password="Camera-Secret-80")
    # Nonces age by the wall clock (not the tests' pinned one).
    old = digest.nonce(client.application.config["SECRET_KEY"],
                       now=time.time() - digest.NONCE_TTL_S - 60)
    signed = digest.authorization("itc-1", "Camera-Secret-80", "POST",
                                  "/NotificationInfo/KeepAlive",
                                  f'Digest realm="ParkGate", qop="auth", nonce="{old}"')
    r = client.post("/NotificationInfo/KeepAlive", data=b'{"DeviceID": "ITC-P1-IN"}',
                    headers={**JSON, "Authorization": signed})
    assert r.status_code == 401 and "stale=true" in r.headers["WWW-Authenticate"]


def test_a_camera_platform_is_not_held_to_the_anonymous_rate_limit(client, session_factory,
                                                                   monkeypatch):  # type: ignore[no-untyped-def]
    """One GA/T 1400 platform address speaks for many cameras and is challenged on each
    request: it gets a device's allowance, not an anonymous visitor's."""
    monkeypatch.setenv("PARKGATE_RATE_LIMIT_ANON_PER_MIN", "3")
    monkeypatch.setenv("PARKGATE_RATE_LIMIT_PER_MIN", "4")  # a device: 20 a minute
    monkeypatch.setattr("parkgate.ratelimit._now", lambda: 1_800_000_000.0)  # one minute
    world = make_world(session_factory)
    add_camera(session_factory, world, "gat1400", GAT_DEVICE, "P2-IN", username="viid-1",
               password="Viid-Secret-2026")
    statuses = [digest_post(client, "/VIID/System/Keepalive", gat1400_object("KeepaliveObject"),
                            "viid-1", "Viid-Secret-2026", **VIID).status_code for _ in range(5)]
    assert statuses == [200] * 5
    anonymous = [client.get("/login").status_code for _ in range(4)]
    assert anonymous[-1] == 429
    # A camera is answered in JSON even when it is the one refused.
    flood = [client.post("/VIID/System/Keepalive", data=b"{}") for _ in range(11)][-1]
    assert flood.status_code == 429 and flood.json["code"] == "RATE_LIMITED"


def test_gat1400_upload_of_an_impossible_shape_is_refused_not_a_500(client, session_factory):  # type: ignore[no-untyped-def]
    world = make_world(session_factory)
    add_camera(session_factory, world, "gat1400", GAT_DEVICE, "P2-IN", username="viid-1",
               password="Viid-Secret-2026")
    upload = json.loads(gat1400_vehicles([("苏A88888", 5)], pass_time="20261122090000"))
    vehicles = upload["MotorVehicleListObject"]["MotorVehicleObject"]
    vehicles[0]["SubImageList"] = {"SubImageInfoObject": 1}  # a number where a list belongs
    r = digest_post(client, "/VIID/MotorVehicles", json.dumps(upload).encode(), "viid-1",
                    "Viid-Secret-2026", **VIID)
    assert 400 <= r.status_code < 500, r.get_data(as_text=True)[:300]
    assert [k.code for k in rejections(session_factory)] == ["VENDOR_BAD_SHAPE"]
    assert passages(session_factory) == []


def test_a_lane_reader_with_a_device_token_is_listed_with_its_newest_read(client, session_factory):  # type: ignore[no-untyped-def]
    world = make_world(session_factory)
    operator = auth(world.tokens["gate_operator"])
    before = client.get("/api/v1/camera-status", headers=operator).json["token_readers"]
    assert [(r["lane"], r["user"], r["last_read_at"], r["state"]) for r in before] == [
        ("P1-IN", "device", None, "never_heard")]
    seen = clock.now().isoformat()
    r = client.post("/api/v1/lanes/P1-IN/reads", headers=auth(world.tokens["device"]), json={
        "read_id": "agent-1", "plate": "苏A88888", "plate_colour": "blue", "confidence": 0.97,
        "seen_at": seen})
    assert r.status_code == 201, r.json
    (row,) = client.get("/api/v1/camera-status", headers=operator).json["token_readers"]
    assert row["last_read_at"] == seen and row["last_used_at"] is not None
    assert row["state"] == "ok"
    page = client.get("/cameras", headers=operator).get_data(as_text=True)
    assert f'data-token="{row["token_id"]}" data-lane="P1-IN" data-state="ok"' in page
    # A plate typed at the booth is not the reader's: its newest read stays as it was.
    typed = client.post("/api/v1/lanes/P1-IN/reads", headers=operator, json={
        "read_id": "booth-1", "plate": "苏A88889", "plate_colour": "blue", "confidence": 1.0,
        "seen_at": (clock.now() + timedelta(minutes=1)).isoformat(), "source": "manual"})
    assert typed.status_code == 201, typed.json
    # Six minutes without a call from the agent: quiet, and listed first.
    clock.advance(timedelta(minutes=6))
    (row,) = client.get("/api/v1/camera-status", headers=operator).json["token_readers"]
    assert row["state"] == "quiet" and row["last_read_at"] == seen
    # A revoked token reads no more: it leaves the list.
    with unit_of_work(session_factory) as uow:
        from auth.tokens import revoke_token
        from kernel.uow import Actor
        from models import ApiToken

        revoke_token(uow, uow.session.get(ApiToken, row["token_id"]), Actor.system("test"))
        uow.commit()
    assert client.get("/api/v1/camera-status", headers=operator).json["token_readers"] == []


def test_the_camera_records_show_times_in_park_time(client, session_factory):  # type: ignore[no-untyped-def]
    world = make_world(session_factory)
    camera_id = add_camera(session_factory, world, "dahua", "ITC-P1-IN", "P1-IN")
    with session_factory() as s:
        s.get(Camera, camera_id).last_heard_at = NOW  # 2026-11-22 01:00 UTC
        s.commit()
    login(client, "admin")
    for url in ("/records/cameras", f"/records/cameras/{camera_id}"):
        page = client.get(url).get_data(as_text=True)
        park_time = NOW.astimezone(timezone(timedelta(hours=8))).strftime("%Y-%m-%d %H:%M:%S")
        assert park_time in page, url
        assert "+00:00" not in page, url
