"""The service's own password hashing: argon2id with argon2-cffi's default parameters (the
test suite swaps in cheap ones, so this runs in a process of its own), and a hash made with
other parameters still verifies and is renewed at the next sign-in."""

from __future__ import annotations

import subprocess
import sys

from argon2 import PasswordHasher

from postback.accounts import passwords

PASSWORD = "correct horse battery"


def test_the_service_hashes_with_argon2s_default_parameters() -> None:
    script = f"from postback.accounts import passwords;print(passwords.hash_password({PASSWORD!r}))"
    stored = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.strip()
    defaults = PasswordHasher()
    expected = (
        f"$argon2id$v=19$m={defaults.memory_cost},t={defaults.time_cost},p={defaults.parallelism}$"
    )
    assert stored.startswith(expected), stored
    assert defaults.verify(stored, PASSWORD)


def test_a_hash_of_other_parameters_verifies_and_is_renewed() -> None:
    older = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1).hash(PASSWORD)
    verified = passwords.verify(older, PASSWORD)
    assert verified is not None
    assert verified.new_hash is not None
    assert verified.new_hash != older
    assert passwords.verify(verified.new_hash, PASSWORD) == passwords.Verified(None)
    assert passwords.verify(older, PASSWORD + "!") is None
    assert passwords.verify(None, PASSWORD) is None
