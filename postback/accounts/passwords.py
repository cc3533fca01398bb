"""Password hashing with argon2id (argon2-cffi's PasswordHasher and its default parameters),
and the passwords the service generates (shown once)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 12
MAX_LENGTH = 256
HASHER = PasswordHasher()
# Verified against when the email is unknown, so an unknown address costs the same time as
# a wrong password (no telling which addresses have accounts). Made at the first sign-in,
# not at import: every command imports this module, and one hash is a quarter second.
_decoy: str | None = None


def use_hasher(hasher: PasswordHasher) -> None:
    """Hash with other argon2 parameters from now on (the test suite's cheap ones); hashes
    made with other parameters still verify, and are rehashed at their next sign-in."""
    global HASHER, _decoy
    HASHER, _decoy = hasher, None


def _decoy_hash() -> str:
    global _decoy
    if _decoy is None:
        _decoy = HASHER.hash(secrets.token_urlsafe(16))
    return _decoy


@dataclass(frozen=True, slots=True)
class Verified:
    """The password matched; `new_hash` is set when the stored hash used older parameters."""

    new_hash: str | None


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify(stored_hash: str | None, password: str) -> Verified | None:
    """Whether `password` matches `stored_hash` (None: no password set, always refused)."""
    try:
        HASHER.verify(stored_hash or _decoy_hash(), password)
    except (VerificationError, InvalidHashError):
        return None
    if stored_hash is None:
        return None
    return Verified(HASHER.hash(password) if HASHER.check_needs_rehash(stored_hash) else None)


def generate() -> str:
    """A random password of 20 URL-safe characters (about 120 bits)."""
    return secrets.token_urlsafe(15)


def problem(password: object) -> str | None:
    """Why a chosen password is refused, or None."""
    if not isinstance(password, str) or len(password) < MIN_LENGTH:
        return f"must have at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"must have at most {MAX_LENGTH} characters"
    return None
