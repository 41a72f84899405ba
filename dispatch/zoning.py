"""Where a truck may stand in the lot (DOMAIN L03–L05): pure over plain views.

A zone takes a trip only if its table accepts every label of every cargo line
(primary class and subsidiary risks), the lot does not exclude any of them, and the
mixed-loading matrix allows every pair of labels between this trip and every trip
already standing there. Among the zones that qualify, the one already holding the
same classes comes first (keeping zones homogeneous leaves the mixed ones free for
the trips that need them), then the fullest (packing), then code order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from kernel.errors import N_
from rules import mixing
from rules.hazard import primary_class


@dataclass(frozen=True)
class ZoneView:
    id: int
    code: str
    accepted: frozenset[str]  # classes and divisions, e.g. {"3", "8", "2.1"}
    free_bays: tuple[tuple[int, str], ...]  # (bay id, bay code), in code order
    bays: int
    occupants: tuple[tuple[mixing.CargoLike, ...], ...] = ()  # cargo of each trip standing


@dataclass(frozen=True)
class Placement:
    zone_id: int
    bay_id: int
    zone_code: str
    bay_code: str


FULL = N_("full")  # a translatable verdict: alarms show it in the reader's language


@dataclass(frozen=True)
class Refusal:
    """Why no zone took the trip: per zone code, the first reason; or the lot holds
    as many vehicles as the park lets it (`lot_full`)."""

    reasons: dict[str, str] = field(default_factory=dict)
    lot_full: bool = False

    @property
    def rule(self) -> str:
        """L05 when it is a matter of room (the lot's capacity, or a zone that would
        take this cargo has no free bay); L03 when no zone may take it beside the trucks
        standing there (a dispatcher's different problem)."""
        if self.lot_full or FULL in self.reasons.values():
            return "L05"
        return "L03"


def labels_of(cargo: Sequence[mixing.CargoLike]) -> set[str]:
    out = set()
    for line in cargo:
        out.add(line.hazard_class.strip().upper())
        out.update(s.strip().upper() for s in line.subsidiary_risks)
    return out


def accepts(accepted: frozenset[str], label: str) -> bool:
    """A zone table entry covers itself and, for a class, its divisions ("2" → 2.1)."""
    return label in accepted or primary_class(label) in accepted or \
        label.rstrip("ABCDEFGHJKLNS") in accepted


def excluded(lot_excluded: Sequence[str], cargo: Sequence[mixing.CargoLike]) -> list[str]:
    """L04: labels the lot does not admit at all (excluding 1 excludes 1.4S)."""
    return sorted(label for label in labels_of(cargo)
                  if label in lot_excluded or primary_class(label) in lot_excluded)


def why_not(zone: ZoneView, cargo: Sequence[mixing.CargoLike]) -> str | None:
    missing = [label for label in labels_of(cargo) if not accepts(zone.accepted, label)]
    if missing:
        return f"not accepted: {', '.join(sorted(missing))}"
    for other in zone.occupants:
        conflicts = mixing.groups_conflict(cargo, other)
        if conflicts:
            c = conflicts[0]
            return f"{c.first} ({c.first_label}) × {c.second} ({c.second_label})"
    if not zone.free_bays:
        return FULL
    return None


def place(cargo: Sequence[mixing.CargoLike], zones: Sequence[ZoneView], *,
          room_left: int | None = None) -> Placement | Refusal:
    """The zone and bay for this cargo. `room_left`: how many more vehicles the lot may
    hold by the park's capacity (L05; None: as many as it has bays)."""
    if room_left is not None and room_left <= 0:
        return Refusal(lot_full=True)
    classes = {primary_class(line.hazard_class) for line in cargo}
    candidates = []
    reasons = {}
    for zone in zones:
        problem = why_not(zone, cargo)
        if problem is not None:
            reasons[zone.code] = problem
            continue
        standing = {primary_class(line.hazard_class) for trip in zone.occupants for line in trip}
        same = not standing or standing <= classes or classes <= standing
        candidates.append((not same, -len(zone.occupants), zone.code, zone))
    if not candidates:
        return Refusal(reasons)
    zone = min(candidates, key=lambda c: c[:3])[3]
    bay_id, bay_code = zone.free_bays[0]
    return Placement(zone.id, bay_id, zone.code, bay_code)
