"""The picture of a read's scene for the booth: the frame, downscaled, with the plate
the reader acted on outlined, so an operator checking an unsure or refused read sees
which vehicle it came from (a neighbour's plate in the same frame looks just as
readable in a crop)."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

MAX_SIDE = 960
QUALITY = 70
OUTLINE = (0, 0, 255)  # BGR red: visible on blue, yellow, green and white plates


def scene_jpeg(image: np.ndarray, corners: Sequence[Sequence[float]] | None = None, *,
               max_side: int = MAX_SIDE, quality: int = QUALITY) -> bytes:
    """The frame as a JPEG at most `max_side` pixels on its longer side, the plate's
    quadrilateral (image coordinates) outlined."""
    h, w = image.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    shown = image if scale == 1.0 else cv2.resize(
        image, (max(1, round(w * scale)), max(1, round(h * scale))),
        interpolation=cv2.INTER_AREA)
    if shown is image:
        shown = image.copy()
    if corners is not None and len(corners) == 4:
        quad = np.round(np.asarray(corners, np.float32) * scale).astype(np.int32)
        thickness = max(2, round(max(shown.shape[:2]) / 300))
        cv2.polylines(shown, [quad.reshape(-1, 1, 2)], True, OUTLINE, thickness)
    ok, encoded = cv2.imencode(".jpg", shown, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 BGR image
        raise ValueError("the frame could not be encoded")
    return encoded.tobytes()
