"""ParkGate's own plate recogniser: a small CRNN trained here on rendered and real plates
(training/plate_rec, its recipe), shipped as ONNX inside this package with its SHA-256.

It reads the same upright rows the PP-OCR recogniser reads, independently: a second
recogniser whose agreement or disagreement calibrates a read's confidence (DESIGN §4,
G08). The character list travels in the model's metadata.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

from rules.plates import DIGITS, LETTERS, PROVINCES

from .models import checked, session_options

INPUT_H, INPUT_W = 32, 128
# Index 0 is the CTC blank; the characters are those the training renders.
CHARSET = ["<blank>", *PROVINCES, *LETTERS, *DIGITS, "挂", "学"]
MODEL_FILE = Path(__file__).parent / "weights" / "plate_rec.onnx"
MODEL_SHA256 = "d1f9829fb383f0502a0ee0904ea766ed981b98de6ca976196dd5dc06a1a01518"
# Where a double-row plate splits into its upper and lower rows (a share of its height).
UPPER_ROW_END, LOWER_ROW_START = 0.42, 0.36


def double_rows(plate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The upper (province and letter) and lower rows of an upright double-row plate."""
    h = plate.shape[0]
    return plate[: int(h * UPPER_ROW_END)], plate[int(h * LOWER_ROW_START):]


def to_input(row: np.ndarray) -> np.ndarray:
    """A row image stretched to the recogniser's input size (BGR, uint8)."""
    return cv2.resize(row, (INPUT_W, INPUT_H), interpolation=cv2.INTER_AREA
                      if row.shape[1] > INPUT_W else cv2.INTER_CUBIC)


def to_blob(rows: list[np.ndarray]) -> np.ndarray:
    """N × 3 × H × W float32 in [-1, 1], the layout the network was trained on."""
    batch = np.stack([to_input(r) if r.shape[:2] != (INPUT_H, INPUT_W) else r for r in rows])
    return ((batch.astype(np.float32) / 255.0 - 0.5) / 0.5).transpose(0, 3, 1, 2)


@dataclass
class PlateRecogniser:
    session: ort.InferenceSession
    charset: list[str]
    lock: threading.Lock

    def probabilities(self, rows: list[np.ndarray]) -> list[np.ndarray]:
        """Per-frame character probabilities (T × C softmax) of each row image."""
        if not rows:
            return []
        blob = to_blob(rows)
        with self.lock:
            out = self.session.run(None, {self.session.get_inputs()[0].name: blob})[0]
        return list(out)


def model_path() -> Path:
    return checked(MODEL_FILE, MODEL_SHA256)


@lru_cache(maxsize=2)
def load_recogniser(threads: int | None = None) -> PlateRecogniser:
    threads = threads or int(os.environ.get("PARKGATE_OCR_THREADS", "2"))
    session = ort.InferenceSession(str(model_path()), session_options(threads),
                                   providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    charset = ["<blank>", *meta["character"]]
    return PlateRecogniser(session, charset, threading.Lock())
