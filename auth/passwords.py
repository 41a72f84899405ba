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
