"""The one thing every plate source produces."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


@dataclass(frozen=True)
class PlateRead:
    lane: str
    plate: str  # normalised (rules.plates.normalise)
    colour: str | None  # blue | yellow | green | yellow_green | white | black
    confidence: float  # 0..1, honest: what the reader believes
    seen_at: datetime
    read_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    layout: str = "single"  # single | double (two-row truck and trailer plates)
    crop_jpeg: bytes | None = None
    source: str = "camera"  # camera | vendor | simulator | manual
    trailer_plate: str | None = None
    trailer_confidence: float | None = None
    scene_jpeg: bytes | None = None  # the frame, downscaled, the plate outlined

    def to_api(self) -> dict[str, Any]:
        """The body of POST /api/v1/lanes/<lane>/reads."""
        body: dict[str, Any] = {
            "read_id": self.read_id, "plate": self.plate, "plate_colour": self.colour,
            "confidence": round(self.confidence, 4), "seen_at": self.seen_at.isoformat(),
            "source": "vendor" if self.source == "vendor" else "camera",
        }
        if self.crop_jpeg:
            body["crop_jpeg_b64"] = base64.b64encode(self.crop_jpeg).decode()
        if self.scene_jpeg:
            body["scene_jpeg_b64"] = base64.b64encode(self.scene_jpeg).decode()
        if self.trailer_plate:
            body["trailer_plate"] = self.trailer_plate
            body["trailer_confidence"] = self.trailer_confidence
        return body
