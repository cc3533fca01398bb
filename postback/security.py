"""Secrets: generated random, stored as SHA-256 digests, compared in constant time."""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets


def hash_secret(value: str) -> str:
    """Digest under which a token or API key is stored and looked up.

    Tokens and keys are long random strings (or partner-chosen tokens that only identify),
    so a fast unsalted digest is enough to keep them out of the database in clear.
    """
    return hashlib.sha256(value.encode()).hexdigest()


# Tokens arrive with every postback and are few per partner: their digests are kept, but only
# for tokens of ordinary length, so the cache stays small whatever a sender puts there.
_CACHED_LENGTH = 256


@functools.lru_cache(maxsize=4096)
def _cached_digest(value: str) -> str:
    return hash_secret(value)


def token_digest(value: str) -> str:
    """`hash_secret` for postback tokens, computed once per token rather than per postback."""
    return _cached_digest(value) if len(value) <= _CACHED_LENGTH else hash_secret(value)


def fingerprint(value: str) -> str:
    """A short, non-reversible label for a secret, safe to keep in raw payloads and logs."""
    return "sha256:" + token_digest(value)[:12]


def new_secret(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(24)}"


def secrets_equal(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())
