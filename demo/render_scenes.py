"""The demo camera's own plate scenes: rendered by ParkGate's renderer
(camera_adapters.synthetic) and committed under demo/assets/scenes, so the demo's
camera works on a machine with nothing but the repository (no development photos,
no CJK fonts). Re-render them with

    python -m demo.render_scenes [--check]

(needs Debian's fonts-noto-cjk). Each scene is read back by the plate reader and
kept only when it reads right, so the demo shows the reader working, not failing on
its own test card; --check only reads the committed scenes and reports.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from pathlib import Path
from typing import Any

import cv2

SCENES = Path(__file__).resolve().parent / "assets" / "scenes"
# What a north gate sees: mostly private cars, some new-energy cars, a few trucks.
MIX = (("blue", 8), ("green", 3), ("yellow", 2), ("yellow_double", 1))
# And two frames with a second vehicle in view (queueing behind, or in the next lane):
# the lane reads the one at its barrier (camera_adapters.lane_view).
TWO_VEHICLES = 2
FRAME = (960, 540)
SEED = 2026


def render(folder: Path = SCENES) -> list[tuple[str, str, str]]:
    from camera_adapters.models import load
    from camera_adapters.reader import PlateReader
    from camera_adapters.synthetic import (
        backgrounds,
        font_path,
        place_in_scene,
        random_plate,
        render_plate,
    )

    rng = random.Random(SEED)
    font = font_path()
    reader = PlateReader(load())
    scenes = backgrounds(None)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.jpg"):
        old.unlink()
    kept: list[tuple[str, str, str]] = []
    for kind, wanted in MIX:
        made = tries = 0
        while made < wanted and tries < wanted * 5:
            tries += 1
            text = random_plate(kind, rng, province=rng.choice("苏苏苏苏浙皖鲁沪"))
            image = place_in_scene(render_plate(text, kind, font), rng.choice(scenes), rng,
                                   frame=FRAME, plate_width=(150, 230), quality=(72, 80))
            best = reader.read(image, want_crop=False).best
            if best is None or best.plate != text:
                continue
            name = f"{kind}_{made:02d}.jpg"
            cv2.imwrite(str(folder / name), image, [cv2.IMWRITE_JPEG_QUALITY, 78])
            kept.append((name, text, "yellow" if kind.startswith("yellow") else kind))
            made += 1
    write_labels(folder, kept)
    return kept + render_busy(folder / "busy", reader, font, scenes)


def render_busy(folder: Path, reader: Any, font: str, scenes: list[Any]
                ) -> list[tuple[str, str, str]]:
    """Frames with a second vehicle in view, in a folder of their own: the demo plays
    them beside the real photos too."""
    import cv2

    from camera_adapters.synthetic import random_plate, render_plate, two_vehicles

    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.jpg"):
        old.unlink()
    kept: list[tuple[str, str, str]] = []
    # Their own random stream: the single-vehicle scenes stay as they were.
    rng = random.Random(SEED + 1)
    made = tries = 0
    while made < TWO_VEHICLES and tries < TWO_VEHICLES * 5:
        tries += 1
        near = random_plate("yellow_double", rng, province=rng.choice("苏苏浙皖"))
        far = random_plate("blue", rng, province=rng.choice("苏苏浙皖"))
        image, _, _ = two_vehicles(render_plate(near, "yellow_double", font),
                                   render_plate(far, "blue", font), rng.choice(scenes), rng,
                                   frame=(1920, 1080))
        image = cv2.resize(image, FRAME, interpolation=cv2.INTER_AREA)
        best = reader.read(image, want_crop=False).best
        if best is None or best.plate != near:
            continue
        name = f"two_vehicles_{made:02d}.jpg"
        cv2.imwrite(str(folder / name), image, [cv2.IMWRITE_JPEG_QUALITY, 78])
        kept.append((name, near, "yellow"))
        made += 1
    write_labels(folder, kept)
    return kept


def write_labels(folder: Path, kept: list[tuple[str, str, str]]) -> None:
    with (folder / "labels.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["file", "plate", "kind"])
        writer.writerows(kept)


def check(folder: Path = SCENES) -> int:
    from camera_adapters.evaluate import evaluate, load_samples, summary_lines
    from camera_adapters.models import load
    from camera_adapters.reader import PlateReader

    reader = PlateReader(load())

    def read(image):  # type: ignore[no-untyped-def]
        best = reader.read(image, want_crop=False).best
        return best.plate if best else None

    report = evaluate(load_samples(folder) + load_samples(folder / "busy"), read)
    print("\n".join(summary_lines(report, "demo scenes")))
    return 0 if report.accuracy == 1.0 else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only read the committed scenes")
    args = parser.parse_args(argv)
    if args.check:
        return check()
    kept = render()
    print(f"{len(kept)} scenes in {SCENES}")
    return check()


if __name__ == "__main__":
    sys.exit(main())
