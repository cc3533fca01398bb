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


@functools.lru_cache(maxsize=4096)
def token_digest(value: str) -> str:
    """`hash_secret` for postback tokens, which every postback carries: the few partners'
    tokens are hashed once, not per postback."""
    return hash_secret(value)


@functools.lru_cache(maxsize=4096)
def fingerprint(value: str) -> str:
    """A short, non-reversible label for a secret, safe to keep in raw payloads and logs."""
    return "sha256:" + hash_secret(value)[:12]


def new_secret(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(24)}"


def secrets_equal(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())
