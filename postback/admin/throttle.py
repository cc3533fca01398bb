"""At most a few failed sign-ins per client address in a sliding window.

Kept in this process's memory: with several instances each counts on its own, so the real
limit is the per-instance one times the number of instances (still far too few guesses for a
random admin token). A successful sign-in clears the address's failures.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

MAX_FAILURES = 5
WINDOW_SECONDS = 300.0
# Addresses remembered at most; past it the stalest are forgotten first.
MAX_ADDRESSES = 10_000


class SignInThrottle:
    def __init__(
        self,
        max_failures: int = MAX_FAILURES,
        window_seconds: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window_seconds = window_seconds
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def retry_after(self, address: str) -> int:
        """Seconds until this address may try again; 0 when it may now."""
        failures = self._recent(address)
        if len(failures) < self.max_failures:
            return 0
        wait = failures[0] + self.window_seconds - self._clock()
        return max(1, math.ceil(wait))

    def failed(self, address: str) -> None:
        failures = self._recent(address)
        failures.append(self._clock())
        self._failures[address] = failures
        if len(self._failures) > MAX_ADDRESSES:
            self._forget_stalest()

    def succeeded(self, address: str) -> None:
        self._failures.pop(address, None)

    def reset(self) -> None:
        self._failures.clear()

    def _recent(self, address: str) -> deque[float]:
        failures = self._failures.get(address, deque())
        horizon = self._clock() - self.window_seconds
        while failures and failures[0] <= horizon:
            failures.popleft()
        if not failures:
            self._failures.pop(address, None)
        return failures

    def _forget_stalest(self) -> None:
        by_last = sorted(self._failures, key=lambda a: self._failures[a][-1])
        for address in by_last[: len(by_last) - MAX_ADDRESSES]:
            del self._failures[address]
