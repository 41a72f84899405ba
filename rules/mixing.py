"""Mixed loading of dangerous goods (ADR 7.5.2.1 as taken into JT/T 617; DOMAIN §5, §9).

Every cargo line carries labels: its primary class and each subsidiary risk. Two
lines may travel (or, in the lot, stand in one zone) together only if every pair of
their labels is allowed. Anything not known to be allowed is prohibited.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

# Class-9 life-saving appliances: the one exception for explosives (ADR 7.5.2.1 note).
LIFE_SAVING_UN = frozenset({"UN2990", "UN3072"})

GENERAL = frozenset({"2", "3", "4.1", "4.2", "4.3", "5.1", "5.2", "6.1", "6.2", "7", "8", "9"})
EXPLOSIVE = frozenset({"1", "1.5", "1.6"})


class CargoLike(Protocol):
    # Read-only members: records, views and frozen dataclasses all fit.
    @property
    def un_number(self) -> str: ...

    @property
    def hazard_class(self) -> str: ...

    @property
    def subsidiary_risks(self) -> Sequence[str]: ...


@dataclass(frozen=True)
class Label:
    code: str  # "1", "1.4", "1.4S", "2", "3", "4.1", "4.1+1", … (DOMAIN §5 list)
    un_number: str


def line_labels(line: CargoLike) -> list[Label]:
    """The labels a cargo line carries: primary class and each subsidiary risk."""
    primary = _label_code(line.hazard_class)
    subs = [s.strip().upper() for s in line.subsidiary_risks]
    if primary in ("4.1", "5.2") and any(s.startswith("1") for s in subs):
        primary = f"{primary}+1"
    labels = [Label(primary, line.un_number)]
    for sub in subs:
        code = _label_code(sub)
        if code.startswith("1") and primary.endswith("+1"):
            continue  # already expressed by the combined label
        labels.append(Label(code, line.un_number))
    return labels


def _label_code(division: str) -> str:
    d = division.strip().upper()
    if d.startswith("1."):
        if d.startswith("1.4"):
            return "1.4S" if d == "1.4S" else "1.4"
        if d.startswith(("1.5", "1.6")):
            return d[:3]
        return "1"  # 1.1–1.3, any compatibility group
    if d.startswith("2"):
        return "2"
    return d


def labels_allowed(a: Label, b: Label) -> bool:
    x, y = a.code, b.code
    if x.endswith("+1") or y.endswith("+1"):
        return x == y  # 4.1+1 only with 4.1+1, 5.2+1 only with 5.2+1
    if x in GENERAL and y in GENERAL:
        return True
    for expl, other in ((a, b), (b, a)):
        if expl.code in EXPLOSIVE:
            # Class 1 never mixes in a park, save life-saving appliances of class 9.
            return other.code == "9" and other.un_number in LIFE_SAVING_UN
    for s14, other in ((a, b), (b, a)):
        if s14.code in ("1.4", "1.4S"):
            if other.code in ("1.4", "1.4S"):
                return s14.code == other.code == "1.4S"
            return s14.code == "1.4S" and other.code in GENERAL
    return False  # unknown label: prohibited


@dataclass(frozen=True)
class Conflict:
    first: str  # UN number
    second: str
    first_label: str
    second_label: str


def conflicts(lines: Iterable[CargoLike]) -> list[Conflict]:
    """Every prohibited pair of labels between different lines (G20)."""
    labelled = [line_labels(line) for line in lines]
    found: list[Conflict] = []
    for i, first in enumerate(labelled):
        for second in labelled[i + 1:]:
            for a in first:
                for b in second:
                    if not labels_allowed(a, b):
                        found.append(Conflict(a.un_number, b.un_number, a.code, b.code))
    return found


def groups_conflict(a: Iterable[CargoLike], b: Iterable[CargoLike]) -> list[Conflict]:
    """Prohibited pairs between two vehicles' loads (lot zoning, L03)."""
    first = [lbl for line in a for lbl in line_labels(line)]
    second = [lbl for line in b for lbl in line_labels(line)]
    return [Conflict(x.un_number, y.un_number, x.code, y.code)
            for x in first for y in second if not labels_allowed(x, y)]
