"""The PP-OCR models, loaded from the installed `rapidocr-onnxruntime` wheel.

Only the ONNX files are used (on onnxruntime); the package itself is never imported,
so nothing pulls in the desktop OpenCV build or reaches for the network. The
recogniser's character list travels inside its ONNX metadata.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import onnxruntime as ort

PACKAGE = "rapidocr_onnxruntime"
DET_FILE = "ch_PP-OCRv4_det_infer.onnx"
REC_FILE = "ch_PP-OCRv4_rec_infer.onnx"


class ModelsMissing(RuntimeError):
    pass


def models_dir() -> Path:
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelsMissing(f"the {PACKAGE} wheel (PP-OCRv4 ONNX models) is not installed; "
                            "scripts/install.sh installs it")
    folder = Path(next(iter(spec.submodule_search_locations))) / "models"
    for name in (DET_FILE, REC_FILE):
        if not (folder / name).exists():
            raise ModelsMissing(f"{name} is missing from {folder}")
    return folder


def _options(threads: int) -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return options


@dataclass
class Models:
    det: ort.InferenceSession
    rec: ort.InferenceSession
    charset: list[str]  # index -> character; 0 is the CTC blank
    lock: threading.Lock  # onnxruntime sessions are thread-safe, but 2 cores: queue, don't thrash


@lru_cache(maxsize=2)
def load(threads: int | None = None) -> Models:
    threads = threads or int(os.environ.get("PARKGATE_OCR_THREADS", "2"))
    folder = models_dir()
    providers = ["CPUExecutionProvider"]
    det = ort.InferenceSession(str(folder / DET_FILE), _options(threads), providers=providers)
    rec = ort.InferenceSession(str(folder / REC_FILE), _options(threads), providers=providers)
    characters = rec.get_modelmeta().custom_metadata_map["character"].splitlines()
    return Models(det, rec, ["<blank>", *characters, " "], threading.Lock())
