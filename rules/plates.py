"""Chinese plate formats (GA 36-2018 family, DOMAIN §7): normalise and validate.

(text, colour) is a vehicle's identity. The validator is strict: it rejects I and O
and never guesses. Mapping look-alikes (O->0, I->1) is the reader's job, where the
position makes a letter impossible (camera_adapters).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I, no O
DIGITS = "0123456789"
ALNUM = LETTERS + DIGITS
SUFFIXES = "挂学警港澳领"


class PlateColour(StrEnum):
    BLUE = "blue"
    YELLOW = "yellow"
    GREEN = "green"
    YELLOW_GREEN = "yellow_green"
    WHITE = "white"
    BLACK = "black"


class PlateKind(StrEnum):
    ORDINARY = "ordinary"
    TRAILER = "trailer"  # …挂
    COACH = "coach"  # …学
    POLICE = "police"  # …警
    HK_MACAO = "hk_macao"  # 粤Z…港/澳
    CONSULATE = "consulate"  # …领
    EMBASSY = "embassy"  # 使 + 6 digits
    EMERGENCY = "emergency"  # …应急
    NEV_SMALL = "nev_small"  # green, 8 characters
    NEV_LARGE = "nev_large"  # yellow-green, 8 characters


C = PlateColour
EXPECTED_COLOURS: dict[PlateKind, frozenset[PlateColour]] = {
    PlateKind.ORDINARY: frozenset({C.BLUE, C.YELLOW}),
    PlateKind.TRAILER: frozenset({C.YELLOW}),
    PlateKind.COACH: frozenset({C.YELLOW}),
    PlateKind.POLICE: frozenset({C.WHITE}),
    PlateKind.HK_MACAO: frozenset({C.BLACK}),
    PlateKind.CONSULATE: frozenset({C.BLACK}),
    PlateKind.EMBASSY: frozenset({C.BLACK}),
    PlateKind.EMERGENCY: frozenset({C.WHITE}),
    PlateKind.NEV_SMALL: frozenset({C.GREEN}),
    PlateKind.NEV_LARGE: frozenset({C.YELLOW_GREEN}),
}

_P = f"[{PROVINCES}]"
_L = f"[{LETTERS}]"
_A = f"[{ALNUM}]"
_PATTERNS: list[tuple[PlateKind, re.Pattern[str], bool]] = [
    # (kind, pattern, lenient): lenient matches are accepted but flagged [verify].
    (PlateKind.EMBASSY, re.compile(r"^使\d{6}$"), False),
    (PlateKind.EMERGENCY, re.compile(rf"^{_P}(?:[XS]\d{{4}}|\d{{5}})应急$"), False),
    (PlateKind.HK_MACAO, re.compile(rf"^粤Z{_A}{{4}}[港澳]$"), False),
    (PlateKind.TRAILER, re.compile(rf"^{_P}{_L}{_A}{{4}}挂$"), False),
    (PlateKind.COACH, re.compile(rf"^{_P}{_L}{_A}{{4}}学$"), False),
    (PlateKind.POLICE, re.compile(rf"^{_P}{_L}{_A}{{4}}警$"), False),
    (PlateKind.CONSULATE, re.compile(rf"^{_P}{_L}{_A}{{4}}领$"), False),
    (PlateKind.NEV_SMALL, re.compile(rf"^{_P}{_L}[DF]{_A}\d{{4}}$"), False),
    (PlateKind.NEV_LARGE, re.compile(rf"^{_P}{_L}\d{{5}}[DF]$"), False),
    (PlateKind.ORDINARY, re.compile(rf"^{_P}{_L}{_A}{{5}}$"), False),
    # Some issuing areas use more letters than D/F on new-energy plates.
    (PlateKind.NEV_SMALL, re.compile(rf"^{_P}{_L}{_L}{_A}\d{{4}}$"), True),
    (PlateKind.NEV_LARGE, re.compile(rf"^{_P}{_L}\d{{5}}{_L}$"), True),
]

_DROP = dict.fromkeys(map(ord, "·•.．・-‐‑–— \t\u3000"), None)


def normalise(text: str) -> str:
    """NFKC (full-width to half-width), drop separators, upper-case."""
    return unicodedata.normalize("NFKC", text or "").translate(_DROP).upper()


# Every character any plate may hold (I and O included: readers confuse them with 1/0
# and repair() maps them back). A look-alike from another script (Cyrillic А, Greek Α)
# is not among them.
PLATE_CHARACTERS = frozenset(PROVINCES + LETTERS + "IO" + DIGITS + SUFFIXES + "使应急")


def foreign_characters(text: str) -> str:
    """The characters of `text` (normalised) that no plate has, in order, once each."""
    return "".join(dict.fromkeys(c for c in normalise(text) if c not in PLATE_CHARACTERS))


@dataclass(frozen=True)
class PlateCheck:
    text: str  # normalised
    valid: bool
    kind: PlateKind | None = None
    lenient: bool = False  # matched only a [verify] pattern
    colour_ok: bool | None = None  # None when no colour was given
    problems: list[str] = field(default_factory=list)  # stable codes

    @property
    def layout(self) -> str:
        """Trucks' rear and trailer plates are double-row (DOMAIN §7)."""
        return "double" if self.kind in (PlateKind.TRAILER,) else "single"


def classify(text: str) -> tuple[PlateKind | None, bool]:
    for kind, pattern, lenient in _PATTERNS:
        if pattern.match(text):
            return kind, lenient
    return None, False


_DIGIT_FOR = str.maketrans({"O": "0", "I": "1"})


def repair(text: str) -> str | None:
    """The plate with O→0 and I→1 where the format makes it unambiguous, or None.

    No plate uses I or O after the province and issuing-authority letter (GA 36), so an
    O or I there can only be a misread 0 or 1. The authority letter itself is left
    alone: a 0 there could be D, Q or O-that-cannot-be, so guessing would be lying."""
    norm = normalise(text)
    if len(norm) < 3 or not any(c in "OI" for c in norm[2:]):
        return None
    fixed = norm[:2] + norm[2:].translate(_DIGIT_FOR)
    return fixed if classify(fixed)[0] is not None else None


def validate(text: str, colour: str | None = None, *, fix_confusions: bool = False
             ) -> PlateCheck:
    """Check a plate. fix_confusions applies repair() (machine reads: a camera that
    says O meant 0); people typing a record are told instead."""
    norm = normalise(text)
    problems: list[str] = []
    if not norm:
        return PlateCheck(norm, False, problems=["PLATE_EMPTY"])
    kind, lenient = classify(norm)
    if kind is None and fix_confusions and (fixed := repair(norm)) is not None:
        norm = fixed
        kind, lenient = classify(norm)
        problems.append("PLATE_REPAIRED_O_I")
    if kind is None:
        if "I" in norm or "O" in norm:
            problems.append("PLATE_HAS_I_OR_O")
        if norm[0] not in PROVINCES and not norm.startswith("使"):
            problems.append("PLATE_BAD_PROVINCE")
        problems.append("PLATE_FORMAT")
        return PlateCheck(norm, False, problems=problems)
    colour_ok: bool | None = None
    if colour is not None:
        try:
            colour_ok = PlateColour(colour) in EXPECTED_COLOURS[kind]
        except ValueError:
            colour_ok = False
        if not colour_ok:
            problems.append("PLATE_COLOUR_MISMATCH")
    if lenient:
        problems.append("PLATE_NEV_LETTER_UNVERIFIED")
    return PlateCheck(norm, colour_ok is not False, kind, lenient, colour_ok, problems)


def is_emergency_plate(text: str) -> bool:
    """Police (…警) and emergency-management (…应急) plates, whether or not the rest of
    the plate reads cleanly (DOMAIN §7, G03): a fire engine with a half-read plate is
    still one the operator must look at."""
    norm = normalise(text)
    return len(norm) >= 3 and (norm.endswith("警") or norm.endswith("应急"))
