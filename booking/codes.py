"""Booking codes printed on the driver's pass: short, unambiguous when read aloud or
typed at the booth (no 0/O, 1/I/L)."""

from __future__ import annotations

import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_code(length: int = 8) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def normalise_code(raw: str) -> str:
    return (raw or "").strip().upper().replace("-", "").replace(" ", "")
