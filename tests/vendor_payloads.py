"""Camera pushes shaped as the vendors' devices send them (shapes from the vendors'
push formats and public captures; values made up), and an HTTP Digest client."""

from __future__ import annotations

import base64
import json
from typing import Any

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64 + b"\xff\xd9"

HIK_XML = """<?xml version="1.0" encoding="UTF-8"?>
<EventNotificationAlert version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">
<ipAddress>10.20.1.31</ipAddress>
<portNo>80</portNo>
<protocol>HTTP</protocol>
<channelID>1</channelID>
<dateTime>2026-11-22T09:00:00+08:00</dateTime>
<activePostCount>1</activePostCount>
<eventType>ANPR</eventType>
<eventState>active</eventState>
<eventDescription>ANPR</eventDescription>
<ANPR>
<country>3</country>
<licensePlate>{plate}</licensePlate>
<line>1</line>
<direction>forward</direction>
<confidenceLevel>{confidence}</confidenceLevel>
<plateType>92TypeCivil</plateType>
<plateColor>{colour}</plateColor>
<vehicleType>truck</vehicleType>
{pictures}</ANPR>
<UUID>{uuid}</UUID>
<picNum>1</picNum>
</EventNotificationAlert>
"""


def hik_xml(plate: str = "苏E12345", colour: str = "yellow", confidence: int = 96,
            uuid: str = "7c4b-0001", pictures: list[tuple[str, str]] | None = None) -> bytes:
    """`pictures`: (type, pId) of each picture the event lists in pictureInfoList."""
    listed = ""
    if pictures:
        listed = "<pictureInfoList>" + "".join(
            f"<pictureInfo><fileName>{pid}</fileName><type>{kind}</type><dataType>0</dataType>"
            f"<pId>{pid}</pId></pictureInfo>" for kind, pid in pictures) + "</pictureInfoList>\n"
    return HIK_XML.format(plate=plate, colour=colour, confidence=confidence, uuid=uuid,
                          pictures=listed).encode()


def hik_json(plate: str = "苏E12345") -> bytes:
    return json.dumps({"ipAddress": "10.20.1.31", "channelID": 1,
                       "dateTime": "2026-11-22T09:00:00+08:00", "eventType": "ANPR",
                       "eventState": "active", "UUID": "7c4b-0002",
                       "ANPR": {"licensePlate": plate, "confidenceLevel": 91,
                                "plateColor": "yellow"}}, ensure_ascii=False).encode()


def hik_multipart(xml: bytes | None = None, boundary: str = "MIME_boundary", *,
                  picture: bytes = JPEG, picture_name: str = "licensePlatePicture.jpg",
                  picture_type: str = "image/jpeg", scene_name: str | None = None,
                  scene: bytes = JPEG) -> tuple[bytes, str]:
    """The event part, then the pictures (a scene first when `scene_name` is given),
    each named and typed as the firmware does."""
    xml = xml or hik_xml()
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"anpr.xml\"; "
            f"filename=\"anpr.xml\"\r\nContent-Type: application/xml\r\n"
            f"Content-Length: {len(xml)}\r\n\r\n").encode() + xml
    parts = ([(scene_name, scene)] if scene_name else []) + [(picture_name, picture)]
    for name, data in parts:
        body += (f"\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; "
                 f"filename=\"{name}\"\r\nContent-Type: {picture_type}\r\n\r\n").encode() + data
    body += f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def hik_heartbeat() -> bytes:
    return (b'<?xml version="1.0" encoding="UTF-8"?><EventNotificationAlert version="2.0" '
            b'xmlns="http://www.hikvision.com/ver20/XMLSchema"><ipAddress>10.20.1.31</ipAddress>'
            b"<dateTime>2026-11-22T09:00:00+08:00</dateTime><eventType>videoloss</eventType>"
            b"<eventState>inactive</eventState></EventNotificationAlert>")


def dahua_picture(plate: str = "苏E12345", colour: str = "Yellow", device: str = "ITC-P1-IN",
                  snap_id: str | None = None, at: str = "2026-11-22 09:00:01.250") -> bytes:
    """An ITSAPI TollgateInfo upload (camera local time, no zone: China)."""
    snap: dict[str, Any] = {"AccurateTime": at, "DeviceID": device, "Direction": "Obverse",
                            "SnapTime": at[:19], "TriggerSource": "Coil"}
    if snap_id is not None:
        snap["SnapID"] = snap_id
    return json.dumps({"Picture": {
        "Plate": {"BoundingBox": [10, 20, 200, 60], "Channel": 0, "Confidence": 88,
                  "IsExist": True, "PlateColor": colour, "PlateNumber": plate,
                  "PlateType": "Normal", "UploadNum": 1},
        "SnapInfo": snap,
        "CutoutPic": {"Content": base64.b64encode(JPEG).decode(), "PicName": "plate.jpg"},
        "NormalPic": {"Content": base64.b64encode(JPEG).decode(), "PicName": "scene.jpg"},
        "Vehicle": {"VehicleColor": "Red", "VehicleType": "LargeTruck"}}},
        ensure_ascii=False).encode()


def _traffic_event(plate: str, i: int, colour: object, utc: int, real_utc: int | None,
                   time_zone: int | None) -> dict[str, Any]:
    data: dict[str, Any] = {"EventID": 41230 + i, "UTC": utc + i, "UTCMS": 250,
                            "Object": {"ObjectType": "Plate", "Text": plate, "Confidence": 78},
                            "TrafficCar": {"PlateNumber": plate, "PlateColor": colour,
                                           "Confidence": 90}}
    if real_utc is not None:
        data["RealUTC"] = real_utc + i
    if time_zone is not None:
        data["TimeZone"] = time_zone
    return {"Code": "TrafficJunction", "Action": "Pulse", "Index": i, "Data": data}


def dahua_events(plate: str = "苏E12345", *, plates: list[str] | None = None,
                 colour: object = "Blue", utc: int = 1795338001, real_utc: int | None = 1795309201,
                 time_zone: int | None = 13) -> bytes:
    """A NetSDK event upload: Data.UTC is the camera's local time as an epoch."""
    return json.dumps({"Channel": 0, "Events": [
        _traffic_event(p, i, colour, utc, real_utc, time_zone)
        for i, p in enumerate(plates or [plate])]}, ensure_ascii=False).encode()


def dahua_rpc2(plates: list[str]) -> bytes:
    """The RPC2 event stream: client.notifyEventStream with params.eventList."""
    return json.dumps({"id": 7, "method": "client.notifyEventStream", "params": {
        "SID": 513, "eventList": [_traffic_event(p, i, "Blue", 1795338001, 1795309201, 13)
                                  for i, p in enumerate(plates)]}, "session": 1},
        ensure_ascii=False).encode()


GAT_DEVICE = "32010000001190000001"


def gat1400_vehicles(plates: list[tuple[str, int]], device: str = GAT_DEVICE,
                     pass_time: str = "20261122090000") -> bytes:
    """A MotorVehicleListObject: (plate, PlateColor code) each; "" for no plate."""
    objects = []
    for i, (plate, colour) in enumerate(plates):
        vehicle: dict[str, Any] = {
            "MotorVehicleID": f"{device}02{pass_time}00001{i:02d}", "InfoKind": 1,
            "SourceID": f"{device}02{pass_time}00001", "DeviceID": device,
            "PassTime": pass_time, "LaneNo": 1, "HasPlate": "1" if plate else "0",
            "PlateClass": "02", "PlateColor": str(colour), "PlateNo": plate,
            "PlateReliability": "93",
            "SubImageList": {"SubImageInfoObject": [
                {"ImageID": f"{device}02{pass_time}0000102", "Type": "02", "FileFormat": "Jpeg",
                 "ShotTime": pass_time, "Data": base64.b64encode(JPEG).decode()},
                {"ImageID": f"{device}02{pass_time}0000101", "Type": "01", "FileFormat": "Jpeg",
                 "ShotTime": pass_time, "Data": base64.b64encode(JPEG).decode()}]}}
        objects.append(vehicle)
    return json.dumps({"MotorVehicleListObject": {"MotorVehicleObject": objects}},
                      ensure_ascii=False).encode()


def gat1400_object(wrapper: str, device: str = GAT_DEVICE) -> bytes:
    return json.dumps({wrapper: {"DeviceID": device}}).encode()


# --- an HTTP Digest client, as a camera signs --------------------------------------------------

def digest_post(client: Any, path: str, body: bytes, username: str, password: str, *,
                content_type: str = "application/json", headers: dict[str, str] | None = None
                ) -> Any:
    """POST, answer the 401's challenge with Digest (MD5, qop=auth), POST again."""
    from gateway.digest import authorization

    extra = {"Content-Type": content_type, **(headers or {})}
    first = client.post(path, data=body, headers=extra)
    if first.status_code != 401:
        return first
    signed = authorization(username, password, "POST", path, first.headers["WWW-Authenticate"])
    return client.post(path, data=body, headers={**extra, "Authorization": signed})
