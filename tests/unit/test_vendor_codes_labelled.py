"""Why a camera's event was refused, in words on the camera page: every code the vendor
parsers raise has a label (the parser's English detail stays, marked technical)."""

from __future__ import annotations

import re
from pathlib import Path

from parkgate.labels import LABELS

ROOT = Path(__file__).resolve().parents[2]


def test_every_vendor_refusal_code_has_a_label() -> None:
    source = "\n".join(p.read_text(encoding="utf-8") for folder in ("camera_adapters", "gateway")
                       for p in (ROOT / folder).rglob("*.py"))
    codes = set(re.findall(r'"(VENDOR_[A-Z_]+)"', source))
    assert len(codes) > 10 and codes <= set(LABELS), sorted(codes - set(LABELS))
