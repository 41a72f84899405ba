"""Dangerous-goods classes and divisions (GB 6944-2012 / UN Model Regulations)."""

from __future__ import annotations

import re
from collections.abc import Iterable

# Class or division, class 1 optionally with its compatibility group (e.g. 1.1D, 1.4S).
_CLASS_RE = re.compile(r"^(?:1\.[1-6][A-HJ-LN-S]?|2\.[123]|3|4\.[123]|5\.[12]|6\.[12]|7|8|9|[12456])$")
UN_RE = re.compile(r"^UN\d{4}$")

def N_(text: str) -> str:
    """Marks a msgid for the catalog (pages translate it); rules stay free of Flask."""
    return text


CLASS_NAMES_EN = {
    "1": N_("Explosives"), "2": N_("Gases"), "2.1": N_("Flammable gas"),
    "2.2": N_("Non-flammable, non-toxic gas"), "2.3": N_("Toxic gas"),
    "3": N_("Flammable liquid"), "4.1": N_("Flammable solid"),
    "4.2": N_("Spontaneously combustible"), "4.3": N_("Dangerous when wet"),
    "5.1": N_("Oxidiser"), "5.2": N_("Organic peroxide"), "6.1": N_("Toxic"),
    "6.2": N_("Infectious"), "7": N_("Radioactive"), "8": N_("Corrosive"),
    "9": N_("Miscellaneous"),
}
# Marker in a permit's business scope for 剧毒化学品 (DOMAIN G11).
TOXIC_SCOPE = "toxic"


def normalise_class(raw: str) -> str:
    """'2.1' -> '2.1', ' 1.1d ' -> '1.1D'; raises ValueError when it is no class."""
    value = (raw or "").strip().upper()
    if not _CLASS_RE.match(value):
        raise ValueError(f"not a dangerous-goods class or division: {raw!r}")
    return value


def is_class(raw: str) -> bool:
    try:
        normalise_class(raw)
    except ValueError:
        return False
    return True


def normalise_un(raw: str) -> str:
    """'1203', 'un 1203', 'UN1203' -> 'UN1203'; raises ValueError otherwise."""
    value = re.sub(r"\s+", "", (raw or "").upper())
    if value.isdigit():
        value = "UN" + value
    if not UN_RE.match(value):
        raise ValueError(f"not a UN number: {raw!r}")
    return value


def primary_class(division: str) -> str:
    """The class a division belongs to: '2.1' -> '2', '1.4S' -> '1', '3' -> '3'."""
    return division.split(".", 1)[0]


def division_without_group(division: str) -> str:
    """'1.4S' -> '1.4'; other divisions unchanged."""
    return division[:3] if division.startswith("1.") else division


def scope_covers(scope: Iterable[str], division: str) -> bool:
    """Whether a business scope admits a class/division (DOMAIN §9 G11 scope).

    A class entry covers all its divisions ('2' covers 2.1–2.3); a division entry
    covers itself; a class-1 division covers its compatibility groups.
    """
    entries = {e.strip().upper() for e in scope}
    return bool(
        division in entries
        or primary_class(division) in entries
        or division_without_group(division) in entries
    )
