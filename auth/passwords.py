"""Password hashing with Argon2id."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# Verifying against this when the user does not exist keeps the response time the same,
# so a login form does not reveal which usernames exist.
_dummy = _hasher.hash("not-a-real-password")


def use_cheap_parameters_for_tests() -> None:
    """Tests create many users; production keeps argon2-cffi's recommended costs."""
    global _hasher, _dummy
    _hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    _dummy = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _dummy, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _hasher.check_needs_rehash(stored)


# --- the password policy -----------------------------------------------------------------

MIN_LENGTH = 10
MAX_LENGTH = 128
MIN_SCORE = 3  # zxcvbn's 0–4: 3 is "safely unguessable" against an online attack


def _common() -> frozenset[str]:
    # zxcvbn ships the 30,000 most common passwords of public breaches in its wheel:
    # checked here, never downloaded.
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def policy_problem(password: str, *, username: str = "", display_name: str = "") -> str | None:
    """Why a password may not be set (a msgid to translate), or None.

    Long enough, not one of the common passwords, not built from the user's own
    name, and hard to guess by zxcvbn's estimate (NIST SP 800-63B's shape: length
    and a block list, no composition rules).
    """
    from zxcvbn import zxcvbn

    from kernel.errors import N_

    if len(password) < MIN_LENGTH:
        return N_("A password has at least 10 characters.")
    if len(password) > MAX_LENGTH:
        return N_("A password has at most 128 characters.")
    lowered = password.lower()
    if lowered in _common() or lowered.strip("0123456789!.@#") in _common():
        return N_("This password is one of the most common ones; choose another.")
    if username and username.lower() in lowered:
        return N_("A password must not contain the user name.")
    if zxcvbn(password, user_inputs=[username, display_name, "parkgate"])["score"] < MIN_SCORE:
        return N_("This password is too easy to guess; use a longer phrase.")
    return None
