"""A server under test: a subprocess started, waited for, and stopped gracefully."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

HOST = "127.0.0.1"


class ServerError(RuntimeError):
    """The server did not start, or died."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class Server:
    def __init__(
        self,
        argv: Sequence[str],
        env: Mapping[str, str],
        ready_url: str,
        log: Path,
        start_timeout: float = 120.0,
    ) -> None:
        self._argv = list(argv)
        self._env = dict(env)
        self._ready_url = ready_url
        self._log = log
        self._start_timeout = start_timeout
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def __enter__(self) -> Server:
        with self._log.open("wb") as log:
            self._process = subprocess.Popen(  # noqa: S603 (our own arguments)
                self._argv, env=self._env, stdout=log, stderr=subprocess.STDOUT
            )
        self._wait_ready()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self._start_timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise ServerError(f"{self._argv[2:4]} exited at start:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self._ready_url, timeout=2) as answer:  # noqa: S310
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        self.stop()
        raise ServerError(f"not ready after {self._start_timeout:.0f} s:\n{self.log_tail()}")

    def stop(self, sig: signal.Signals = signal.SIGINT) -> None:
        """SIGINT, as Ctrl-C would (or SIGTERM, as an orchestrator would): uvicorn finishes
        the requests in flight and the app's shutdown runs."""
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.send_signal(sig)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def kill(self) -> None:
        """SIGKILL: nothing is flushed, nothing runs at exit."""
        process = self._process
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self._log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
