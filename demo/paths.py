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


def camera_scenes() -> tuple[Path, str]:
    """The folder the demo camera plays (images and labels.csv), and what it is."""
    photos = plates_dev_dir()
    if photos is not None:
        return photos, f"real plate photos from {photos}"
    return DEMO_SCENES, ("ParkGate's own rendered plate scenes (set PARKGATE_DATA_DIR to a "
                         "folder with plates-dev/ to play real photos)")
