"""Chinese resident identity numbers (GB 11643-1999) and masking of personal data."""

from __future__ import annotations

import re
from datetime import date

_ID_RE = re.compile(r"^\d{17}[\dX]$")
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def normalise_id(raw: str) -> str:
    return (raw or "").strip().upper().replace(" ", "")


def check_digit(first17: str) -> str:
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def id_problem(raw: str) -> str | None:
    """None when valid, else a stable code: ID_FORMAT, ID_BIRTH_DATE or ID_CHECKSUM."""
    value = normalise_id(raw)
    if not _ID_RE.match(value):
        return "ID_FORMAT"
    try:
        date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return "ID_BIRTH_DATE"
    if check_digit(value[:17]) != value[17]:
        return "ID_CHECKSUM"
    return None


_ID_SHAPED = re.compile(r"^(\d{15}|\d{17}[\dX]?)$")
CREDENTIAL_MIN_LENGTH = 6
CREDENTIAL_MAX_LENGTH = 32
# Certificate numbers are letters (Chinese ones too), digits and hyphens: "苏交运危320600001".
_CREDENTIAL_CHARS = re.compile(r"^[\w-]+$")


def credential_problem(raw: str) -> str | None:
    """What a person on foot shows: an ID number or a qualification certificate number
    (often the ID number itself). None when it could be either; else a stable code:
    one of id_problem's when it is shaped as an ID number, CREDENTIAL_TOO_SHORT, or
    CREDENTIAL_MALFORMED (too long, or signs no certificate number has)."""
    value = normalise_id(raw)
    if _ID_SHAPED.match(value):
        return id_problem(value)
    if len(value) < CREDENTIAL_MIN_LENGTH:
        return "CREDENTIAL_TOO_SHORT"
    if len(value) > CREDENTIAL_MAX_LENGTH or not _CREDENTIAL_CHARS.match(value):
        return "CREDENTIAL_MALFORMED"
    return None


def mask_id(value: str) -> str:
    """320102********1234 style: region and last four only."""
    value = normalise_id(value)
    if len(value) < 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str) -> str:
    digits = re.sub(r"\D", "", value or "")
    if len(digits) < 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


# 统一社会信用代码 (GB 32100-2015): 18 characters, the last a check character.
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_check_char(first17: str) -> str:
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_CHARS[(31 - total % 31) % 31]


def uscc_problem(raw: str) -> str | None:
    """None when valid, else USCC_FORMAT or USCC_CHECKSUM."""
    value = (raw or "").strip().upper()
    if len(value) != 18 or any(c not in _USCC_CHARS for c in value):
        return "USCC_FORMAT"
    if uscc_check_char(value[:17]) != value[17]:
        return "USCC_CHECKSUM"
    return None
