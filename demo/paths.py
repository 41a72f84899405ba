"""Where the development data lives (outside the repository, see README)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def shared_data_dir() -> Path:
    return Path(os.environ.get("PARKGATE_DATA_DIR", ROOT.parent / "shared" / "data")).resolve()


def dangerous_goods_csv() -> Path:
    return shared_data_dir() / "dangerous_goods.csv"


def plates_dev_dir() -> Path:
    return shared_data_dir() / "plates-dev"
