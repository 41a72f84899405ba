"""The plate reader: find → rectify → recognise → validate → colour (DESIGN §4).

Finding: Chinese plates are solid blue, yellow or green rectangles, so colour masks
give their four corners cheaply; the PP-OCR text detector is the fallback for what
colour misses (white and black plates, bad light). A tight crop from a camera that
already cut the plate skips finding. Each candidate is warped to an upright plate,
split into two rows when it is a double-row plate, recognised with PP-OCRv4 and
decoded under the plate grammar (camera_adapters.ctc). The reading with the best
score that passes rules.plates wins; its confidence is its weakest character's.
"""

from __future__ import annotations

import itertools
import logging
import time
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, NamedTuple

import cv2
import numpy as np

from rules import plates

from . import ctc
from .agreement import Agreed, Opinion, agree, log_likelihood
from .lane_view import RegionOfInterest, nearer_unread, nearest_first
from .models import Models, ModelsMissing, Recogniser, load, load_third_opinion
from .plate_rec import PlateRecogniser, double_rows, load_recogniser

log = logging.getLogger(__name__)

REC_HEIGHT = 48
REC_MAX_WIDTH = 320
# Below these the colour finder's best reading is not trusted on its own.
WEAK = 0.5
WEAK_SCORE = -12.0
# At or above these a reading is taken without looking at the other candidates.
STRONG = 0.9
STRONG_SCORE = -4.0
SINGLE_ROW_COLOURS = ("blue", "green")
# Below this the checked reading gets a second look (the default lane threshold is 0.85).
SURE = 0.9
# A read the checker could not look at is at most this sure: the booth confirms it.
UNCHECKED_CAP = 0.5
# Who read an opinion: each recogniser is one voice however many views it read.
PPOCR, CHECKER, THIRD = "ppocr", "checker", "third"
# Rows (or views) smaller than this are not read a second time.
MIN_ROW_PX = 6


@dataclass(frozen=True)
class Candidate:
    corners: np.ndarray  # 4×2 float32, clockwise from top-left, in image coordinates
    source: str  # colour:<name> | text | crop
    colour_hint: str | None = None


@dataclass(frozen=True)
class Reading:
    plate: str
    kind: str
    colour: str | None
    layout: str  # single | double
    confidence: float
    corners: tuple[tuple[float, float], ...]
    crop_jpeg: bytes | None
    score: float
    valid: bool
    problems: tuple[str, ...] = ()
    char_confidence: tuple[float, ...] = ()
    agreed: bool | None = None  # both recognisers read this text (None: not checked)


@dataclass
class ReadResult:
    readings: list[Reading]
    elapsed_ms: float
    candidates: int
    timings: dict[str, float] = field(default_factory=dict)
    second_opinion: bool = False  # the checked reading was unsure and looked at again

    @property
    def best(self) -> Reading | None:
        return self.readings[0] if self.readings else None


# --- geometry -------------------------------------------------------------------------------

def order_corners(points: np.ndarray) -> np.ndarray:
    pts = points.reshape(4, 2).astype(np.float32)
    s = pts.sum(axis=1)
    d = np.diff(pts, axis=1).ravel()
    return np.array([pts[s.argmin()], pts[d.argmin()], pts[s.argmax()], pts[d.argmax()]],
                    dtype=np.float32)


def warp(image: np.ndarray, corners: np.ndarray, pad: float = 0.06,
         height: int = REC_HEIGHT) -> np.ndarray:
    tl, tr, br, bl = corners
    width = max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl))
    plate_h = max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr))
    if width < 8 or plate_h < 4:
        return image[0:0, 0:0]
    # A little margin: colour masks stop at the plate's edge, the characters touch it.
    cx, cy = corners.mean(axis=0)
    grown = (corners - [cx, cy]) * [1 + pad, 1 + 2 * pad] + [cx, cy]
    out_h = height * 2 if width / plate_h < 2.6 else height
    out_w = round(out_h * width / plate_h)
    target = np.array([[0, 0], [out_w - 1, 0], [out_w - 1, out_h - 1], [0, out_h - 1]],
                      dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(grown.astype(np.float32), target)
    return cv2.warpPerspective(image, matrix, (out_w, out_h), flags=cv2.INTER_CUBIC,
                               borderMode=cv2.BORDER_REPLICATE)


# --- finding ------------------------------------------------------------------------------

# HSV ranges of plate backgrounds (OpenCV hue 0–180). Plates are bright and saturated;
# a dark car body that merely reflects blue is not.
COLOUR_RANGES = {
    "blue": ((98, 110, 90), (126, 255, 255)),
    "yellow": ((12, 100, 100), (34, 255, 255)),
    "green": ((35, 35, 60), (95, 255, 255)),
}
# Large new-energy plates are yellow and green side by side: one region, two hues.
COMBINED_MASKS = {"yellow_green": ("yellow", "green")}


def text_likeness(plate: np.ndarray) -> float:
    """0..1: how much an upright candidate looks like a row of characters — many
    dark/light transitions across its middle, none of it blank or pure noise."""
    if plate.size == 0:
        return 0.0
    gray = cv2.cvtColor(plate, cv2.COLOR_BGR2GRAY)
    _, binary = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    h = binary.shape[0]
    counts = []
    for frac in (0.35, 0.5, 0.65):
        row = binary[int(h * frac)] > 0
        counts.append(int(np.count_nonzero(row[1:] != row[:-1])))
    transitions = float(np.median(counts))
    fg = float((binary > 0).mean())
    balance = 1.0 - abs(min(fg, 1 - fg) - 0.3) / 0.3  # text covers roughly a third
    return max(0.0, min(transitions, 28.0) / 28.0) * max(0.0, balance)


def colour_candidates(image: np.ndarray, max_side: int = 960, keep: int = 8,
                      roi: RegionOfInterest | None = None) -> list[Candidate]:
    h, w = image.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    small = cv2.resize(image, (int(w * scale), int(h * scale))) if scale < 1 else image
    hsv = cv2.cvtColor(small, cv2.COLOR_BGR2HSV)
    sh, sw = small.shape[:2]
    scored: list[tuple[float, Candidate]] = []
    masks = {name: cv2.inRange(hsv, np.array(lo), np.array(hi))
             for name, (lo, hi) in COLOUR_RANGES.items()}
    for name, parts in COMBINED_MASKS.items():
        masks[name] = cv2.bitwise_or(*(masks[p] for p in parts))
    for name, raw in masks.items():
        for divisor in (70, 35):  # close gaps between characters; two strengths
            kernel = cv2.getStructuringElement(cv2.MORPH_RECT,
                                               (max(3, sw // divisor), max(3, sh // (divisor * 2))))
            mask = cv2.morphologyEx(raw, cv2.MORPH_CLOSE, kernel)
            mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
            contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
            for contour in contours:
                area = cv2.contourArea(contour)
                if area < sh * sw * 0.0003 or area > sh * sw * 0.08:
                    continue
                rect = cv2.minAreaRect(contour)
                (rw, rh) = rect[1]
                if min(rw, rh) < 6:
                    continue
                ratio = max(rw, rh) / min(rw, rh)
                if not (1.6 <= ratio <= 6.5) or area / (rw * rh) < 0.5:
                    continue
                approx = cv2.approxPolyDP(contour, 0.02 * cv2.arcLength(contour, True), True)
                corners = approx if len(approx) == 4 and cv2.isContourConvex(approx) \
                    else cv2.boxPoints(rect)
                cand = Candidate(order_corners(np.asarray(corners, np.float32) / scale),
                                 f"colour:{name}", name)
                scored.append((text_likeness(warp(image, cand.corners, height=24)), cand))
    scored.sort(key=lambda sc: -sc[0])
    # The best two of each colour first — a scene full of one colour (foliage, a blue
    # shop front) must not crowd out a plate of another — then the rest by score.
    per_colour: dict[str | None, int] = {}
    first: list[Any] = []
    rest: list[Any] = []
    for score, cand in scored:
        if score < 0.15:
            break
        if not in_region(cand, roi, w, h):
            continue  # before the cut: another lane's plates must not crowd this one's out
        centre = cand.corners.mean(axis=0)
        if any(np.linalg.norm(centre - c.corners.mean(axis=0)) < 10 for _, c in first + rest):
            continue  # the same plate found by both closing strengths
        bucket = first if per_colour.get(cand.colour_hint, 0) < 2 else rest
        per_colour[cand.colour_hint] = per_colour.get(cand.colour_hint, 0) + 1
        bucket.append((score, cand))
    return [c for _, c in (first + rest)[:keep]]


def _det_input(image: np.ndarray, limit: int = 736) -> tuple[np.ndarray, float, float]:
    h, w = image.shape[:2]
    ratio = limit / max(h, w) if max(h, w) > limit else 1.0
    nh, nw = max(32, int(round(h * ratio / 32) * 32)), max(32, int(round(w * ratio / 32) * 32))
    resized = cv2.resize(image, (nw, nh))
    blob = (resized.astype(np.float32) / 255.0 - 0.5) / 0.5
    return blob.transpose(2, 0, 1)[None], h / nh, w / nw


def text_candidates(image: np.ndarray, models: Models, roi: RegionOfInterest | None = None
                    ) -> list[Candidate]:
    """PP-OCRv4 text detection (a simplified DB post-process) for plate-shaped boxes."""
    blob, ry, rx = _det_input(image)
    with models.lock:
        prob = models.det.run(None, {models.det.get_inputs()[0].name: blob})[0][0, 0]
    mask = (prob > 0.3).astype(np.uint8)
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    out = []
    for contour in contours:
        rect = cv2.minAreaRect(contour)
        (rw, rh) = rect[1]
        if min(rw, rh) < 4:
            continue
        score = float(prob[mask.astype(bool)].mean()) if mask.any() else 0.0
        # Unclip: text boxes hug the glyphs; the plate is a little larger.
        grow = 1.6 * rw * rh / (2 * (rw + rh))
        rect = (rect[0], (rw + 2 * grow, rh + 2 * grow), rect[2])
        (rw, rh) = rect[1]
        ratio = max(rw, rh) / min(rw, rh)
        if not (1.8 <= ratio <= 8.0) or score < 0.3:
            continue
        box = cv2.boxPoints(rect) * np.array([rx, ry], np.float32)
        cand = Candidate(order_corners(box), "text")
        if in_region(cand, roi, image.shape[1], image.shape[0]):
            out.append(cand)
    out.sort(key=lambda c: -cv2.contourArea(c.corners.reshape(-1, 1, 2)))
    return out[:8]


def looks_like_a_crop(image: np.ndarray) -> bool:
    """A small image of plate proportions: what a camera that cut the plate pushes."""
    h, w = image.shape[:2]
    return h <= 120 and 2.0 <= w / max(h, 1) <= 7.0


def may_be_a_plate_photo(image: np.ndarray) -> bool:
    """A larger image that is mostly one plate colour at single- or double-row
    proportions (a close-up, or a vendor's crop of a 440×220 rear plate): read whole
    first, then searched like a scene if that reads badly."""
    h, w = image.shape[:2]
    if not 1.6 <= w / max(h, 1) <= 4.5 or h > 480:
        return False
    name, share = colour_share(image)
    return name in ("blue", "yellow", "green", "yellow_green") and share >= 0.45


# --- recognising ----------------------------------------------------------------------------

def _rec_width(image: np.ndarray) -> int:
    h, w = image.shape[:2]
    return min(REC_MAX_WIDTH, max(16, int(np.ceil(REC_HEIGHT * w / max(h, 1)))))


def _rec_blob(plate: np.ndarray, batch_width: int) -> np.ndarray:
    width = _rec_width(plate)
    resized = cv2.resize(plate, (width, REC_HEIGHT), interpolation=cv2.INTER_CUBIC)
    blob = np.zeros((3, REC_HEIGHT, batch_width), np.float32)
    blob[:, :, :width] = ((resized.astype(np.float32) / 255.0 - 0.5) / 0.5).transpose(2, 0, 1)
    return blob


def recognise(models: Recogniser, images: list[np.ndarray]) -> list[np.ndarray]:
    """Per-frame character probabilities for each image (one batched run, padded only
    to the widest image: the recogniser's cost grows with width)."""
    if not images:
        return []
    # PP-OCR pads every batch to at least 320 px; the weights expect that context.
    batch_width = max(REC_MAX_WIDTH, int(np.ceil(max(_rec_width(im) for im in images) / 8) * 8))
    batch = np.stack([_rec_blob(im, batch_width) for im in images])
    with models.lock:
        out = models.rec.run(None, {models.rec.get_inputs()[0].name: batch})[0]
    # Frames past an image's own width carry padding only; trim them.
    results = []
    separators = models.separators
    for im, probs in zip(images, out, strict=True):
        frames = max(1, int(np.ceil(probs.shape[0] * _rec_width(im) / batch_width)) + 1)
        results.append(ctc.fold_separators(probs[: min(frames, probs.shape[0])], separators))
    return results


def colour_share(plate: np.ndarray) -> tuple[str | None, float]:
    """The dominant plate background colour of an image and the share it covers."""
    if plate.size == 0:
        return None, 0.0
    hsv = cv2.cvtColor(plate, cv2.COLOR_BGR2HSV)
    h, s, v = (hsv[..., i].astype(np.int32) for i in range(3))
    votes = {
        "blue": int(((h >= 100) & (h <= 128) & (s > 70) & (v > 40)).sum()),
        "yellow": int(((h >= 12) & (h <= 34) & (s > 80) & (v > 80)).sum()),
        "green": int(((h >= 35) & (h <= 88) & (s > 40) & (v > 60)).sum()),
        "white": int(((s < 40) & (v > 170)).sum()),
        "black": int(((v < 60)).sum()),
    }
    name, count = max(votes.items(), key=lambda kv: kv[1])
    share = count / (plate.shape[0] * plate.shape[1])
    if name == "green" and votes_in(hsv[:, : plate.shape[1] // 3]) == "yellow":
        # New-energy large plates are yellow on the left, green on the right.
        return "yellow_green", share
    return name, share


def plate_colour(plate: np.ndarray) -> str | None:
    """The background colour of an upright plate: the dominant hue around the glyphs."""
    name, share = colour_share(plate)
    return name if share >= 0.18 else None


def votes_in(hsv: np.ndarray) -> str:
    h, s, v = (hsv[..., i].astype(np.int32) for i in range(3))
    yellow = int(((h >= 12) & (h <= 34) & (s > 80) & (v > 80)).sum())
    green = int(((h >= 35) & (h <= 88) & (s > 40) & (v > 60)).sum())
    return "yellow" if yellow > green else "green"


def validated(text: str, colour: str | None) -> tuple[plates.PlateCheck, str | None]:
    """The plate grammar's verdict on a reading, and the colour to report with it."""
    check = plates.validate(text, colour)
    if not check.valid and check.kind is not None and colour is not None:
        return plates.validate(text, None), None  # the format is right; the colour guess is not
    return check, colour


# --- the whole reader -------------------------------------------------------------------------

class Frames(NamedTuple):
    """One recogniser's frames of one view's rows (blank-certain frames dropped), to
    score any text with."""

    rows: list[np.ndarray]
    alphabet: ctc.Alphabet


@dataclass(frozen=True)
class _Seen:
    """What a reading was made from, kept until the second recogniser has checked it."""

    candidate: Candidate
    plate: np.ndarray
    colour: str | None
    layout: str
    probs: tuple[np.ndarray, ...]  # PP-OCR's frames of the layout's rows (layout_rows)


def in_region(candidate: Candidate, roi: RegionOfInterest | None, width: int,
              height: int) -> bool:
    """Whether a candidate's centre lies in the lane's region (always, without one)."""
    return roi is None or roi.contains(tuple(candidate.corners.mean(axis=0).tolist()),
                                       width, height)


def _quad(candidate: Candidate) -> tuple[tuple[float, float], ...]:
    return tuple((float(x), float(y)) for x, y in candidate.corners)


def plausible(reading: Reading) -> bool:
    """A reading good enough to be a plate at all (not a sign, a grille, a shadow)."""
    return reading.valid and reading.confidence >= WEAK and reading.score >= WEAK_SCORE


def _nearest_first(seen: list[tuple[Reading, _Seen]]) -> list[tuple[Reading, _Seen]]:
    """`seen` (best reading first) with the nearest plate's best reading moved first
    when another vehicle's plate read better (camera_adapters.lane_view)."""
    pick = nearest_first([r.corners for r, _ in seen], [plausible(r) for r, _ in seen])
    if pick is None:
        return seen
    return [seen[pick], *seen[:pick], *seen[pick + 1:]]


class PlateReader:
    def __init__(self, models: Models | None = None, *, use_text_detector: bool = True,
                 checker: PlateRecogniser | None = None,
                 third_opinion: Recogniser | None = None) -> None:
        self.models = models or load()
        self.alphabet = ctc.Alphabet(self.models.charset)
        self.use_text_detector = use_text_detector
        self.checker = checker or load_recogniser()
        self.checker_alphabet = ctc.Alphabet(self.checker.charset)
        self._third = third_opinion
        self._third_failed = self._third_missing = False

    @staticmethod
    def _row_images(plate: np.ndarray, colour: str | None = None) -> list[np.ndarray]:
        """The plate as one row and, when squat enough to be a double-row plate, its
        upper and lower rows. Blue and small green plates are only ever single-row
        (GA 36), so a tilted one is not recognised three times."""
        h, w = plate.shape[:2]
        images = [plate]
        if w / max(h, 1) < 2.6 and colour not in SINGLE_ROW_COLOURS:
            images += list(double_rows(plate))
        return images

    @staticmethod
    def _decode(probs: list[np.ndarray], colour: str | None, alphabet: ctc.Alphabet,
                charset: list[str]) -> list[tuple[ctc.Decoded, str]]:
        """Readings of one plate's rows (see _row_images) under the plate grammar: as a
        single row and, given its two rows, as a double-row plate."""
        out: list[tuple[ctc.Decoded, str]] = []
        single = PlateReader._decode_single(probs[0], colour, alphabet, charset)
        if single is not None:
            out.append((single, "single"))
        if len(probs) == 3:
            double = PlateReader._decode_double(probs[1], probs[2], alphabet, charset)
            if double is not None:
                out.append((double, "double"))
        return out

    @staticmethod
    def _decode_single(probs: np.ndarray, colour: str | None, alphabet: ctc.Alphabet,
                       charset: list[str]) -> ctc.Decoded | None:
        return ctc.best_reading(probs, ctc.TEMPLATES, alphabet, charset,
                                prior=ctc.colour_prior(colour))

    @staticmethod
    def _decode_double(top_probs: np.ndarray, bottom_probs: np.ndarray, alphabet: ctc.Alphabet,
                       charset: list[str]) -> ctc.Decoded | None:
        top = ctc.decode(ctc.compress(top_probs), ctc.TOP_ROW, alphabet, charset)
        bottom = ctc.best_reading(bottom_probs, ctc.BOTTOM_ROWS, alphabet, charset)
        if not (top and bottom):
            return None
        kind = {"bottom_trailer": "trailer", "bottom_coach": "coach"}.get(bottom.kind, "ordinary")
        return ctc.Decoded(top.text + bottom.text, kind, top.score + bottom.score,
                           top.char_confidence + bottom.char_confidence)

    def read(self, image: np.ndarray, *, want_crop: bool = True,
             roi: RegionOfInterest | None = None) -> ReadResult:
        """The plates in `image`, the one the lane should act on first: inside `roi`
        when the lane has one (a camera's tight crop is taken as it is), and of the
        plates read well, the nearest."""
        started = time.perf_counter()
        timings: dict[str, float] = {}
        h, w = image.shape[:2]
        whole = Candidate(np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], np.float32),
                          "crop")
        # A camera's crop, or a photo of one plate, is read whole whatever the region.
        if looks_like_a_crop(image):
            candidates = [whole]
        elif may_be_a_plate_photo(image):
            candidates = [whole, *colour_candidates(image, roi=roi)]
        else:
            candidates = colour_candidates(image, roi=roi)
        timings["find_ms"] = (time.perf_counter() - started) * 1000
        seen: list[tuple[Reading, _Seen]] = []
        # Best-looking candidates first (one, then two at a time); a strong reading ends
        # the search unless a clearly larger (nearer) plate is still unread.
        bounds = [0, 1, *range(3, len(candidates) + 2, 2)]
        for start, stop in itertools.pairwise(bounds):
            if start >= len(candidates):
                break
            seen += self._read_candidates(image, candidates[start:stop])
            strong = [r.corners for r, _ in seen if r.valid and r.confidence >= STRONG
                      and r.score >= STRONG_SCORE]
            if strong and not nearer_unread(strong, [_quad(c) for c in candidates[stop:]]):
                break
        seen.sort(key=lambda rs: (rs[0].valid, rs[0].score), reverse=True)
        # Grammar-constrained decoding always yields a well-formed plate, so "valid" says
        # little; a weak best reading is what sends us to the (slower) text detector.
        best = seen[0][0] if seen else None
        weak = best is None or not plausible(best)
        if weak and self.use_text_detector and not looks_like_a_crop(image):
            t = time.perf_counter()
            more = text_candidates(image, self.models, roi)
            timings["text_det_ms"] = (time.perf_counter() - t) * 1000
            seen += self._read_candidates(image, more)
            candidates += more
        seen.sort(key=lambda rs: (rs[0].valid, rs[0].score), reverse=True)
        seen = _nearest_first(seen)
        readings = [r for r, _ in seen]
        second = False
        if seen:
            t = time.perf_counter()
            readings[0], second = self._check(image, *seen[0])
            timings["check_ms"] = (time.perf_counter() - t) * 1000
            if want_crop:
                crop = cv2.imencode(".jpg", seen[0][1].plate,
                                    [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes()
                readings[0] = replace(readings[0], crop_jpeg=crop)
        return ReadResult(readings, (time.perf_counter() - started) * 1000, len(candidates),
                          timings, second)

    def _read_candidates(self, image: np.ndarray, candidates: list[Candidate]
                         ) -> list[tuple[Reading, _Seen]]:
        plates_ = []
        for cand in candidates:
            plate = image if cand.source == "crop" else warp(image, cand.corners)
            if plate.size:
                colour = plate_colour(plate) or cand.colour_hint
                plates_.append((cand, plate, colour, self._row_images(plate, colour)))
        # Every row image of every candidate in one recogniser run.
        flat = [im for *_, rows in plates_ for im in rows]
        probs = recognise(self.models, flat)
        out: list[tuple[Reading, _Seen]] = []
        at = 0
        for cand, plate, colour, rows in plates_:
            mine = probs[at: at + len(rows)]
            at += len(rows)
            for reading, layout in self._decode(mine, colour, self.alphabet,
                                                self.models.charset):
                check, said = validated(reading.text, colour)
                out.append((Reading(
                    plate=check.text, kind=reading.kind, colour=said, layout=layout,
                    confidence=round(reading.confidence * (1.0 if check.valid else 0.5), 4),
                    corners=_quad(cand),
                    crop_jpeg=None, score=reading.score, valid=check.valid,
                    problems=tuple(check.problems),
                    char_confidence=tuple(round(float(c), 4) for c in reading.char_confidence)),
                    _Seen(cand, plate, colour, layout,
                          tuple(mine[1:] if layout == "double" else mine[:1]))))
        return out

    # --- the second recogniser ---------------------------------------------------------------

    @staticmethod
    def _layout_rows(plate: np.ndarray, layout: str) -> list[np.ndarray]:
        """The rows a layout is read from: the plate, or its upper and lower rows."""
        return list(double_rows(plate)) if layout == "double" else [plate]

    def _opinion(self, probs: list[np.ndarray], colour: str | None, layout: str,
                 alphabet: ctc.Alphabet, charset: list[str], recogniser: str) -> Opinion:
        decoded = (self._decode_double(probs[0], probs[1], alphabet, charset)
                   if layout == "double"
                   else self._decode_single(probs[0], colour, alphabet, charset))
        return Opinion(decoded.text, decoded.char_confidence, recogniser) if decoded \
            else Opinion("", (), recogniser)

    def _opinions(self, views: list[np.ndarray], colour: str | None, layout: str,
                  known: tuple[list[np.ndarray], Opinion] | None = None
                  ) -> tuple[list[Opinion], list[Frames]]:
        """Both recognisers' readings of views of a plate, in the reading's layout, and
        their frames (to score other texts with); each recogniser reads every view's rows
        in one run. `known`: PP-OCR's frames and reading of the one view, already made
        when the plate was first read. Views too small to read again are left out."""
        assert known is None or len(views) == 1, "a known reading is of one view"
        rows = self._readable_rows(views, layout)
        if not rows:
            return [], []
        flat = [x for r in rows for x in r]
        pp_probs = known[0] if known is not None else recognise(self.models, flat)
        ck_probs = self.checker.probabilities(flat)
        opinions, frames = [], []
        at = 0
        for view_rows in rows:
            part = slice(at, at + len(view_rows))
            at += len(view_rows)
            for probs, alphabet, charset, name in (
                    (pp_probs[part], self.alphabet, self.models.charset, PPOCR),
                    (ck_probs[part], self.checker_alphabet, self.checker.charset, CHECKER)):
                given = known[1] if known is not None and alphabet is self.alphabet else None
                opinions.append(given or self._opinion(probs, colour, layout, alphabet, charset,
                                                       name))
                frames.append(Frames([ctc.compress(p) for p in probs], alphabet))
        return opinions, frames

    def _readable_rows(self, views: list[np.ndarray], layout: str) -> list[list[np.ndarray]]:
        """Each view's rows in the layout; views too small to read again left out."""
        rows = [self._layout_rows(v, layout) for v in views]
        return [r for r in rows if all(min(x.shape[:2]) >= MIN_ROW_PX for x in r)]

    @property
    def third(self) -> Recogniser:
        """The third recogniser, loaded when a plate first needs it."""
        if self._third is None:
            self._third = load_third_opinion()
        return self._third

    @cached_property
    def third_alphabet(self) -> ctc.Alphabet:
        return ctc.Alphabet(self.third.charset)

    def _third_look(self, views: list[np.ndarray], colour: str | None, layout: str
                    ) -> tuple[list[Opinion], list[Frames]]:
        """_third_opinions, or none when the third recogniser cannot run (its package
        missing or its file not the measured one): the second look then rests on two
        recognisers, as it did before the third, and the log says so once."""
        if self._third_missing:
            return [], []
        try:
            return self._third_opinions(views, colour, layout)
        except Exception as exc:
            # A missing or swapped model stays so: not hashed again on every unsure read.
            self._third_missing = isinstance(exc, ModelsMissing)
            if not self._third_failed:
                log.exception("the third plate recogniser failed; second looks use two")
                self._third_failed = True
            return [], []

    def _third_opinions(self, views: list[np.ndarray], colour: str | None, layout: str
                        ) -> tuple[list[Opinion], list[Frames]]:
        """The third recogniser's readings of views of a plate, and their frames."""
        rows = self._readable_rows(views, layout)
        third = self.third
        probs = recognise(third, [x for r in rows for x in r])
        opinions, frames = [], []
        at = 0
        for view_rows in rows:
            part = probs[at: at + len(view_rows)]
            at += len(view_rows)
            opinions.append(self._opinion(part, colour, layout, self.third_alphabet,
                                          third.charset, THIRD))
            frames.append(Frames([ctc.compress(p) for p in part], self.third_alphabet))
        return opinions, frames

    def _check(self, image: np.ndarray, reading: Reading, seen: _Seen
               ) -> tuple[Reading, bool]:
        """The best reading, checked by ParkGate's own recogniser: the pair's text and
        confidence (camera_adapters.agreement); when they are unsure, a second look at
        re-rectified views of the plate before settling. A plate with characters the
        checker was not trained on (警, 应急, …) keeps PP-OCR's reading alone; a checker
        that fails leaves the read unsure, never sure."""
        if any(c not in self.checker_alphabet.index for c in reading.plate):
            return reading, False
        try:
            return self._checked(image, reading, seen)
        except Exception:  # a broken checker must not stop the lane
            log.exception("plate checker failed; the read stays unchecked and unsure")
            capped = min(reading.confidence, UNCHECKED_CAP)
            return replace(reading, confidence=capped, agreed=False, char_confidence=tuple(
                min(c, UNCHECKED_CAP) for c in reading.char_confidence)), True

    def _checked(self, image: np.ndarray, reading: Reading, seen: _Seen
                 ) -> tuple[Reading, bool]:
        opinions, frames = self._opinions(
            [seen.plate], seen.colour, seen.layout,
            known=(list(seen.probs), Opinion(reading.plate, reading.char_confidence, PPOCR)))
        if not opinions:  # too small to read twice
            return replace(reading, agreed=False, confidence=min(reading.confidence,
                                                                  UNCHECKED_CAP)), False
        agreed = self._agree(opinions, frames, seen.layout)
        unsure = not agreed.agreed or agreed.confidence < SURE
        if unsure:
            # A second look: the plate cut tighter and looser, read by both recognisers,
            # and every view read by a third whose mistakes are other ones, so that two
            # of three can outvote a character the first was wrongly sure of.
            views = self._other_views(image, seen)
            more, more_frames = self._opinions(views, seen.colour, seen.layout)
            third, third_frames = self._third_look([seen.plate, *views], seen.colour,
                                                   seen.layout)
            agreed = self._agree(opinions + more + third, frames + more_frames + third_frames,
                                 seen.layout)
        check, colour = validated(agreed.text, reading.colour)
        kind = reading.kind if agreed.text == reading.plate else (check.kind.value if check.kind
                                                                  else reading.kind)
        return replace(reading, plate=check.text, kind=kind, colour=colour, valid=check.valid,
                       problems=tuple(check.problems), agreed=agreed.agreed,
                       char_confidence=agreed.char_confidence,
                       confidence=round(agreed.confidence * (1.0 if check.valid else 0.5), 4)
                       ), unsure

    @staticmethod
    def _agree(opinions: list[Opinion], frames: list[Frames], layout: str) -> Agreed:
        def score(text: str) -> float:
            parts = [text[:2], text[2:]] if layout == "double" else [text]
            total = 0.0
            for rows, alphabet in frames:
                for row, part in zip(rows, parts, strict=True):
                    ids = [alphabet.index.get(c, -1) for c in part]
                    if -1 in ids or row.shape[0] == 0:
                        return float("-inf")
                    total += log_likelihood(row, ids)
            return total

        return agree(opinions, score, lambda t: plates.validate(t, None).valid, SURE)

    @staticmethod
    def _other_views(image: np.ndarray, seen: _Seen) -> list[np.ndarray]:
        """The same plate cut tighter and looser than the first time."""
        if seen.candidate.source == "crop":
            h, w = image.shape[:2]
            dy, dx = max(1, h // 14), max(1, w // 40)
            tighter = image[dy: h - dy, dx: w - dx]
            looser = cv2.copyMakeBorder(image, dy, dy, dx, dx, cv2.BORDER_REPLICATE)
            return [tighter, looser]
        return [v for v in (warp(image, seen.candidate.corners, pad=p) for p in (0.0, 0.14))
                if v.size]
