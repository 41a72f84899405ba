"""Where the demo's data comes from.

Everything the demo needs is in the repository: the dangerous-goods seed list
(registry/data) and the demo camera's own rendered plate scenes (demo/assets). The
real development photos are optional: when PARKGATE_DATA_DIR (or ../shared/data
beside the checkout) holds them, the camera plays those instead.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO_SCENES = Path(__file__).resolve().parent / "assets" / "scenes"


def shared_data_dir() -> Path | None:
    """The development data folder, if there is one."""
    named = os.environ.get("PARKGATE_DATA_DIR")
    folder = Path(named) if named else ROOT.parent / "shared" / "data"
    return folder.resolve() if folder.is_dir() else None


def dangerous_goods_csv() -> Path:
    """ParkGate's own seed list of dangerous goods (package data)."""
    return ROOT / "registry" / "data" / "dangerous_goods.csv"


def plates_dev_dir() -> Path | None:
    """The labelled development photos, if they are here."""
    data = shared_data_dir()
    folder = data / "plates-dev" if data is not None else None
    return folder if folder is not None and (folder / "labels.csv").is_file() else None


# Rendered frames with a second vehicle in view: played beside the real photos too, which
# have none, so the demo always shows the lane reading the vehicle at its barrier.
BUSY_SCENES = DEMO_SCENES / "busy"


def camera_scenes() -> tuple[list[Path], str]:
    """The folders the demo camera plays (images and a labels.csv in each, subfolders
    included), and what they are."""
    photos = plates_dev_dir()
    if photos is not None:
        return [photos, BUSY_SCENES], (f"real plate photos from {photos}, and frames with "
                                       "two vehicles in view")
    return [DEMO_SCENES], ("ParkGate's own rendered plate scenes (set PARKGATE_DATA_DIR to a "
                           "folder with plates-dev/ to play real photos)")


def camera_labels() -> list[dict[str, str]]:
    """The labels.csv rows of every scene the demo camera plays."""
    import csv

    rows: list[dict[str, str]] = []
    for folder in camera_scenes()[0]:
        for labels in sorted(folder.rglob("labels.csv")):
            with labels.open(newline="", encoding="utf-8") as f:
                rows += list(csv.DictReader(f))
    return rows
