"""Vendor ANPR bodies as the cameras send them (shapes from the vendors' push
formats; values made up)."""

from __future__ import annotations

import base64
import json

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
</ANPR>
<UUID>{uuid}</UUID>
<picNum>1</picNum>
</EventNotificationAlert>
"""


def hik_xml(plate: str = "苏E12345", colour: str = "yellow", confidence: int = 96,
            uuid: str = "7c4b-0001") -> bytes:
    return HIK_XML.format(plate=plate, colour=colour, confidence=confidence,
                          uuid=uuid).encode()


def hik_json(plate: str = "苏E12345") -> bytes:
    return json.dumps({"ipAddress": "10.20.1.31", "channelID": 1,
                       "dateTime": "2026-11-22T09:00:00+08:00", "eventType": "ANPR",
                       "eventState": "active", "UUID": "7c4b-0002",
                       "ANPR": {"licensePlate": plate, "confidenceLevel": 91,
                                "plateColor": "yellow"}}, ensure_ascii=False).encode()


def hik_multipart(xml: bytes | None = None, boundary: str = "MIME_boundary") -> tuple[bytes, str]:
    xml = xml or hik_xml()
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"anpr.xml\"; "
        f"filename=\"anpr.xml\"\r\nContent-Type: application/xml\r\n"
        f"Content-Length: {len(xml)}\r\n\r\n").encode() + xml + (
        f"\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"licensePlatePicture.jpg\"; "
        f"filename=\"licensePlatePicture.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").encode() \
        + JPEG + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def hik_heartbeat() -> bytes:
    return (b'<?xml version="1.0" encoding="UTF-8"?><EventNotificationAlert version="2.0" '
            b'xmlns="http://www.hikvision.com/ver20/XMLSchema"><ipAddress>10.20.1.31</ipAddress>'
            b"<dateTime>2026-11-22T09:00:00+08:00</dateTime><eventType>videoloss</eventType>"
            b"<eventState>inactive</eventState></EventNotificationAlert>")


def dahua_picture(plate: str = "苏E12345", colour: str = "Yellow") -> bytes:
    return json.dumps({"Picture": {
        "Plate": {"BoundingBox": [10, 20, 200, 60], "Channel": 0, "Confidence": 88,
                  "IsExist": True, "PlateColor": colour, "PlateNumber": plate,
                  "PlateType": "Normal", "UploadNum": 1},
        "SnapInfo": {"AccurateTime": "2026-11-22 09:00:01.250", "DeviceID": "ITC-P1-IN",
                     "Direction": "Obverse", "SnapTime": "2026-11-22 09:00:01",
                     "TriggerSource": "Coil"},
        "CutoutPic": {"Content": base64.b64encode(JPEG).decode(), "PicName": "plate.jpg"},
        "NormalPic": {"Content": base64.b64encode(JPEG).decode(), "PicName": "scene.jpg"},
        "Vehicle": {"VehicleColor": "Red", "VehicleType": "LargeTruck"}}},
        ensure_ascii=False).encode()


def dahua_events(plate: str = "苏E12345") -> bytes:
    return json.dumps({"Channel": 0, "Events": [{
        "Code": "TrafficJunction", "Action": "Pulse", "Index": 0,
        "Data": {"EventID": 41230, "UTC": 1795309201,
                 "Object": {"Text": plate, "Confidence": 200 / 255 * 100},
                 "TrafficCar": {"PlateNumber": plate, "PlateColor": "Blue", "Confidence": 90}}}]},
        ensure_ascii=False).encode()
