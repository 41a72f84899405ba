"""Where the camera simulator's scenes are when a source spec names none (`simulator`):
the demo owns them and registers their place when it is imported (demo/__init__.py);
this package never imports the demo. Light on purpose: registering loads no OpenCV."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

_default: Callable[[], list[Path]] | None = None


def register_default(where: Callable[[], list[Path]]) -> None:
    global _default
    _default = where


def default() -> list[Path]:
    if _default is None:
        raise ValueError("the simulator needs its scenes: simulator:PATH")
    return _default()
