"""When dangerous goods do not make a hazmat vehicle (DOMAIN G21, §9)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from .policy import ParkPolicy


class LineLike(Protocol):
    # Read-only members: records, views and frozen dataclasses all fit.
    @property
    def special_provision(self) -> str | None: ...  # "limited" | "excepted" | None

    @property
    def quantity_kg(self) -> float: ...

    @property
    def packages(self) -> int | None: ...


def exempt_as_ordinary_goods(lines: Sequence[LineLike], policy: ParkPolicy) -> bool:
    """Exempt only if every line is a limited quantity (<= 8,000 kg gross in total) or
    every line is an excepted quantity (<= 1,000 packages in total). Any fully
    regulated line makes the vehicle hazmat."""
    if not lines:
        return False
    kinds = {line.special_provision for line in lines}
    if kinds == {"limited"}:
        return sum(line.quantity_kg for line in lines) <= policy.limited_qty_max_kg
    if kinds == {"excepted"}:
        return sum(line.packages or 0 for line in lines) <= policy.excepted_qty_max_packages
    return False
