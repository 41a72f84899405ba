"""Rendered plates in scenes, for the kinds the real development photos lack: yellow
single- and double-row truck plates, trailer plates (挂), green and yellow-green
new-energy plates. Used by the tests and bench/plates.py, reported apart from the
real photos. Characters come from Debian's Noto Sans CJK (fonts-noto-cjk)."""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from rules.plates import DIGITS, LETTERS, PROVINCES

ALNUM = LETTERS + DIGITS
FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Bold.ttc",
)
KINDS = ("yellow", "yellow_double", "trailer", "green", "yellow_green")

YELLOW = (0, 194, 242)  # BGR
# The median blue of the development crops tuned on (GA 36 gives no pigment a camera
# would see; photos of real plates do). The first renderer's navy (160, 60, 10) was
# darker than nine plates in ten.
BLUE = (196, 100, 41)  # BGR
BLACK = (20, 20, 20)


@dataclass(frozen=True)
class Look:
    """How one plate is painted: its ground, its characters' colour (None: the kind's
    own) and whether the separator dot after the issuing letter is drawn (GA 36 draws
    it; a recogniser that never saw it reads it as a character)."""

    ground: tuple[int, int, int] | None = None  # BGR; None: the kind's standard colour
    ink: tuple[int, int, int] | None = None  # BGR
    dot: bool = True


class FontMissing(RuntimeError):
    pass


def font_path() -> str:
    for path in FONT_CANDIDATES:
        if Path(path).exists():
            return path
    raise FontMissing("Noto Sans CJK is not installed (Debian package fonts-noto-cjk)")


@dataclass(frozen=True)
class Rendered:
    image: np.ndarray
    plate: str
    kind: str


def random_plate(kind: str, rng: random.Random, province: str | None = None) -> str:
    p, letter = province or rng.choice(PROVINCES), rng.choice(LETTERS)
    if kind == "blue":
        return p + letter + "".join(rng.choice(ALNUM if i < 2 else DIGITS) for i in range(5))
    if kind in ("yellow", "yellow_double"):
        return p + letter + "".join(rng.choice(ALNUM if i < 2 else DIGITS + LETTERS[:6])
                                    for i in range(5))
    if kind == "trailer":
        return p + letter + "".join(rng.choice(DIGITS) for _ in range(4)) + "挂"
    if kind == "green":
        return p + letter + rng.choice("DF") + rng.choice(ALNUM) + "".join(
            rng.choice(DIGITS) for _ in range(4))
    return p + letter + "".join(rng.choice(DIGITS) for _ in range(5)) + rng.choice("DF")


@lru_cache(maxsize=64)
def _font(font_file: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(font_file, size)


def _is_cjk(char: str) -> bool:
    return "\u4e00" <= char <= "\u9fff"


def _text(image: Image.Image, box: tuple[int, int, int, int], char: str,
          font_file: str, fill: tuple[int, int, int]) -> None:
    draw = ImageDraw.Draw(image)
    x0, y0, x1, y1 = box
    size = int((y1 - y0) * (1.0 if _is_cjk(char) else 1.25))
    font = _font(font_file, size)
    left, top, right, bottom = draw.textbbox((0, 0), char, font=font)
    w, h = right - left, bottom - top
    # Latin glyphs are narrow: stretch them to the plate's fixed character cell.
    glyph = Image.new("L", (int(w) + 4, int(h) + 4), 0)
    ImageDraw.Draw(glyph).text((2 - left, 2 - top), char, font=font, fill=255)
    glyph = glyph.resize((x1 - x0, y1 - y0))
    colour = Image.new("RGB", glyph.size, fill)
    image.paste(colour, (x0, y0), glyph)


def render_plate(text: str, kind: str, font_file: str, latin_font: str | None = None,
                 look: Look = Look()) -> np.ndarray:
    """An upright plate image at 1 px per mm (GA 36 proportions, near enough). Letters
    and digits come from `latin_font` when given (the recogniser's training draws them
    in several faces; real plates use a condensed one of their own)."""
    double = kind in ("yellow_double", "trailer")
    width, height = (480, 140) if len(text) == 8 else ((440, 220) if double else (440, 140))
    bg = Image.new("RGB", (width, height))
    pixels = np.zeros((height, width, 3), np.uint8)
    if kind == "green":
        top, bottom = np.array([235, 250, 240]), np.array([70, 190, 110])
        for y in range(height):
            pixels[y, :] = top + (bottom - top) * (y / height)
    elif kind == "yellow_green":
        pixels[:, :] = (70, 190, 110)
        pixels[:, : int(width * 0.28)] = YELLOW[::-1]
    elif kind == "blue":
        pixels[:, :] = (look.ground or BLUE)[::-1]
    else:
        pixels[:, :] = (look.ground or YELLOW)[::-1]
    bg = Image.fromarray(pixels)
    draw = ImageDraw.Draw(bg)
    # Blue plates are white on blue, with a white rim; the others black on colour.
    fg: tuple[int, int, int] = (look.ink[2], look.ink[1], look.ink[0]) if look.ink else \
        ((245, 245, 245) if kind == "blue" else (20, 20, 20))

    def face(char: str) -> str:
        return font_file if latin_font is None or _is_cjk(char) else latin_font

    draw.rectangle((4, 4, width - 5, height - 5), outline=fg if kind == "blue" else (25, 25, 25),
                   width=3)
    if double:
        # Upper row: province and letter, small; lower row: the rest, tall.
        top_y0, top_y1 = 16, 78
        _text(bg, (110, top_y0, 170, top_y1), text[0], face(text[0]), fg)
        _text(bg, (270, top_y0, 330, top_y1), text[1], face(text[1]), fg)
        rest = text[2:]
        cell, gap = 65, 15
        x = (width - (len(rest) * cell + (len(rest) - 1) * gap)) // 2
        for char in rest:
            _text(bg, (x, 92, x + cell, 205), char, face(char), fg)
            x += cell + gap
    else:
        cell, gap = 45, 12
        n = len(text)
        total = n * cell + (n - 1) * gap + 20
        x = (width - total) // 2
        for i, char in enumerate(text):
            _text(bg, (x, 25, x + cell, 115), char, face(char), fg)
            x += cell + gap + (20 if i == 1 else 0)  # the separator after the letter
            if i == 1 and look.dot:
                cx = x - (gap + 20) // 2
                draw.ellipse((cx - 5, 65, cx + 5, 75), fill=fg)
    return cv2.cvtColor(np.array(bg), cv2.COLOR_RGB2BGR)


def place_in_scene(plate: np.ndarray, background: np.ndarray, rng: random.Random,
                   frame: tuple[int, int] = (1920, 1080),
                   plate_width: tuple[float, float] = (200, 360), quality: tuple[int, int] = (60, 90),
                   centre: tuple[float, float] | None = None) -> np.ndarray:
    """A plate on a vehicle-ish scene: perspective, blur, light, noise, JPEG. `centre`
    (fractions of the frame) places it; by default it lands somewhere mid-frame."""
    fw, fh = frame
    scene = cv2.resize(background, (fw, fh))
    ph, pw = plate.shape[:2]
    target_w = rng.uniform(*plate_width)
    scale = target_w / pw
    tw, th = pw * scale, ph * scale
    if centre is None:
        cx, cy = rng.uniform(fw * 0.3, fw * 0.7), rng.uniform(fh * 0.45, fh * 0.8)
    else:
        cx, cy = centre[0] * fw, centre[1] * fh
    angle = np.deg2rad(rng.uniform(-7, 7))
    skew = rng.uniform(-0.12, 0.12) * th
    corners = np.array([[-tw / 2, -th / 2 + skew], [tw / 2, -th / 2 - skew],
                        [tw / 2, th / 2 - skew], [-tw / 2, th / 2 + skew]])
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    dst = (corners @ rot.T + [cx, cy]).astype(np.float32)
    src = np.array([[0, 0], [pw - 1, 0], [pw - 1, ph - 1], [0, ph - 1]], np.float32)
    matrix = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(plate, matrix, (fw, fh))
    mask = cv2.warpPerspective(np.full((ph, pw), 255, np.uint8), matrix, (fw, fh))
    # A bumper around the plate: vehicles are rarely plate-coloured around it.
    bumper = cv2.dilate(mask, np.ones((41, 81), np.uint8))
    tone = rng.choice([(235, 235, 235), (40, 40, 45), (160, 160, 165), (30, 60, 140)])
    scene[bumper > 0] = (np.array(tone) * rng.uniform(0.85, 1.1)).clip(0, 255)
    scene[mask > 0] = warped[mask > 0]
    scene = cv2.GaussianBlur(scene, (0, 0), rng.uniform(0.6, 1.6))
    scene = cv2.convertScaleAbs(scene, alpha=rng.uniform(0.75, 1.15), beta=rng.uniform(-25, 20))
    noise = np.random.default_rng(rng.randrange(2**32)).normal(0, rng.uniform(2, 7), scene.shape)
    scene = np.clip(scene.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    _ok, jpeg = cv2.imencode(".jpg", scene, [cv2.IMWRITE_JPEG_QUALITY, rng.randint(*quality)])
    decoded = cv2.imdecode(jpeg, cv2.IMREAD_COLOR)
    assert decoded is not None  # it was just encoded
    return decoded


def two_vehicles(near: np.ndarray, far: np.ndarray, background: np.ndarray,
                 rng: random.Random, frame: tuple[int, int] = (1920, 1080)
                 ) -> tuple[np.ndarray, tuple[float, float], tuple[float, float]]:
    """The vehicle at the barrier low in the frame and another vehicle's plate, smaller
    and higher (queueing behind, or in the next lane): the scene and both plates'
    centres (fractions)."""
    near_at = (rng.uniform(0.3, 0.7), rng.uniform(0.62, 0.8))
    side = rng.choice((-1, 1))
    far_at = (min(0.9, max(0.1, near_at[0] + side * rng.uniform(0.25, 0.4))),
              rng.uniform(0.3, 0.45))
    scene = place_in_scene(far, background, rng, frame, plate_width=(140, 200),
                           quality=(85, 95), centre=far_at)
    scene = place_in_scene(near, scene, rng, frame, plate_width=(260, 360), centre=near_at)
    return scene, near_at, far_at


def backgrounds(folder: Path | None) -> list[np.ndarray]:
    """Street scenes to paste onto (the development photos' scenes), or plain ones."""
    out = []
    boxes = {}
    labels = folder.parent / "labels.csv" if folder is not None else None
    if labels is not None and labels.exists():
        with labels.open(newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                if row.get("bbox"):
                    boxes[Path(row["file"]).name] = [int(v) for v in row["bbox"].split(",")]
    if folder is not None and folder.exists():
        for path in sorted(folder.glob("ccpd_*.jpg")):
            image = cv2.imread(str(path))
            if image is None:
                continue
            if path.name in boxes:
                # Paint over the scene's own plate: only the rendered one should be read.
                x0, y0, x1, y1 = boxes[path.name]
                image[max(0, y0 - 12): y1 + 12, max(0, x0 - 12): x1 + 12] = (90, 90, 95)
            out.append(image)
    if not out:
        rng = np.random.default_rng(3)
        for _ in range(4):
            base = rng.integers(60, 200, (720, 1280, 3)).astype(np.uint8)
            out.append(cv2.GaussianBlur(base, (0, 0), 25))
    return out


def _write(folder: Path, header: list[str], scenes: Iterator[tuple[str, np.ndarray, list[str]]]
           ) -> Path:
    """Each (file name, image, the rest of its labels row) into `folder`, with labels.csv."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "labels.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["file", *header])
        for name, image, row in scenes:
            cv2.imwrite(str(folder / name), image)
            writer.writerow([name, *row])
    return folder


def generate(folder: Path, per_kind: int, *, seed: int = 7, scene_dir: Path | None = None,
             kinds: tuple[str, ...] = KINDS) -> Path:
    """Write `per_kind` scenes of each kind and a labels.csv into `folder`."""
    rng = random.Random(seed)
    font_file = font_path()
    scenes = backgrounds(scene_dir)

    def drawn() -> Iterator[tuple[str, np.ndarray, list[str]]]:
        for kind in kinds:
            for i in range(per_kind):
                text = random_plate(kind, rng)
                scene = place_in_scene(render_plate(text, kind, font_file),
                                       rng.choice(scenes), rng)
                yield f"{kind}_{i:03d}.jpg", scene, [text, kind]

    return _write(folder, ["plate", "kind"], drawn())


def generate_neighbours(folder: Path, count: int, *, seed: int = 7,
                        scene_dir: Path | None = None) -> Path:
    """`count` two-vehicle scenes (two_vehicles) and a labels.csv naming the near plate;
    its `neighbour` column names the other."""
    rng = random.Random(seed)
    font_file = font_path()
    scenes = backgrounds(scene_dir)

    def drawn() -> Iterator[tuple[str, np.ndarray, list[str]]]:
        for i in range(count):
            near_kind, far_kind = rng.choice(("blue", *KINDS)), rng.choice(("blue", *KINDS))
            near, far = random_plate(near_kind, rng), random_plate(far_kind, rng)
            scene, _, _ = two_vehicles(render_plate(near, near_kind, font_file),
                                       render_plate(far, far_kind, font_file),
                                       rng.choice(scenes), rng)
            yield f"pair_{i:03d}.jpg", scene, [near, near_kind, "scene", far]

    return _write(folder, ["plate", "kind", "image_type", "neighbour"], drawn())
