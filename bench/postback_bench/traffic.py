"""Drive Involve Asia postback traffic with wrk (a separate process) and read back what it saw.

The request mix lives in `traffic.lua`; this module starts wrk with it, lets it drain (no new
request after the deadline, every request sent gets its answer) and parses its figures.
"""

from __future__ import annotations

import math
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

SCRIPT = Path(__file__).with_name("traffic.lua")
BUCKET_SECONDS = 1e-5  # the Lua script's latency histogram has 10 µs buckets
DRAIN_SECONDS = 30.0


class LoadError(RuntimeError):
    """wrk is missing or failed."""


def wrk_path() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise LoadError(
            "wrk is not installed: `apt-get install -y wrk` (Debian/Ubuntu) or "
            "`brew install wrk` (macOS); `make bench` installs it when it can"
        )
    return path


def wrk_version() -> str:
    done = subprocess.run(  # noqa: S603 (our own arguments)
        [wrk_path(), "-v"], capture_output=True, text=True, check=False
    )
    return (done.stdout or done.stderr).split("Copyright")[0].strip()


@dataclass(frozen=True, slots=True)
class Load:
    """One wrk run: where, how long, how many senders, and what to send."""

    url: str
    duration: float
    connections: int
    threads: int
    tokens: Sequence[str]
    run_id: str
    # Off for the ceiling, whose fixed answer names no conversion id to time it by.
    track: bool = True
    repeat: float = 0.05
    timeout: float = 10.0


@dataclass(slots=True)
class LoadResult:
    sent: int = 0
    answered: int = 0
    ok: int = 0
    ok_duplicate: int = 0
    repeats: int = 0
    timed: int = 0
    first_sent: float = math.inf
    last_answer: float = 0.0
    threads: int = 0
    drained_threads: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    histogram: dict[int, int] = field(default_factory=dict)
    socket_errors: dict[str, int] = field(default_factory=dict)
    wrk_latency_ms: dict[int, float] = field(default_factory=dict)
    wrk_cpu_seconds: float = 0.0

    @property
    def window(self) -> float:
        """Seconds from the first request sent to the last answer received."""
        return max(self.last_answer - self.first_sent, 1e-9)

    @property
    def ok_per_second(self) -> float:
        return self.ok / self.window

    @property
    def not_ok(self) -> int:
        return self.answered - self.ok

    @property
    def unanswered(self) -> int:
        return self.sent - self.answered

    @property
    def errors(self) -> int:
        """Every request that did not end in a 200: other statuses, socket errors, no answer."""
        sockets = sum(v for k, v in self.socket_errors.items() if k != "timeout")
        return self.not_ok + sockets + max(self.unanswered, 0)

    def percentile_ms(self, percent: float) -> float | None:
        total = sum(self.histogram.values())
        if total == 0:
            return None
        rank = math.ceil(total * percent / 100)
        seen = 0
        for bucket in sorted(self.histogram):
            seen += self.histogram[bucket]
            if seen >= rank:
                return (bucket + 1) * BUCKET_SECONDS * 1000  # the bucket's upper edge
        return None

    def add(self, other: LoadResult) -> None:
        """Fold another run in (the totals the database check compares with)."""
        for name in ("sent", "answered", "ok", "ok_duplicate", "repeats", "timed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _parse(text: str, result: LoadResult) -> None:
    for line in text.splitlines():
        kind, name, value = line.split()
        if kind == "wrk":
            if name.startswith("latency_p"):
                result.wrk_latency_ms[int(name[9:].split("_")[0])] = int(value) / 1000
            elif name not in ("requests", "duration_us", "status"):
                result.socket_errors[name] = int(value)
        elif kind == "status":
            result.statuses[int(name)] = result.statuses.get(int(name), 0) + int(value)
        elif kind == "hist":
            result.histogram[int(name)] = result.histogram.get(int(name), 0) + int(value)
        elif name == "first_sent":
            if float(value) > 0:
                result.first_sent = min(result.first_sent, float(value))
        elif name == "last_answer":
            result.last_answer = max(result.last_answer, float(value))
        elif name == "drained":
            result.threads += 1
            result.drained_threads += int(float(value))
        else:
            setattr(result, name, getattr(result, name) + int(float(value)))


def run_load(load: Load, workdir: Path) -> LoadResult:
    """Run wrk until `load.duration` has passed and every request sent has been answered."""
    out = workdir / f"wrk-{load.run_id}.txt"
    mark = workdir / f"drained-{load.run_id}"
    stop_at = time.time() + load.duration
    env = {
        **os.environ,
        "BENCH_RUN": load.run_id,
        "BENCH_TOKENS": ",".join(load.tokens),
        "BENCH_STOP_AT": f"{stop_at:.6f}",
        "BENCH_REPEAT": str(load.repeat),
        "BENCH_THREADS": str(load.threads),
        "BENCH_CONNECTIONS": str(load.connections),
        "BENCH_TRACK": "1" if load.track else "0",
        "BENCH_OUT": str(out),
        "BENCH_MARK": str(mark),
    }
    command = [
        wrk_path(),
        f"--threads={load.threads}",
        f"--connections={load.connections}",
        f"--duration={math.ceil(load.duration + DRAIN_SECONDS)}s",
        f"--timeout={math.ceil(load.timeout)}s",
        f"--script={SCRIPT}",
        load.url,
    ]
    process = subprocess.Popen(  # noqa: S603 (our own arguments)
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    cpu = 0.0
    try:
        watched = psutil.Process(process.pid)
        while process.poll() is None and time.time() < stop_at + DRAIN_SECONDS:
            drained = sum(1 for i in range(load.threads) if Path(f"{mark}.{i + 1}").exists())
            if time.time() >= stop_at and drained == load.threads:
                break
            with_cpu = watched.cpu_times()
            cpu = with_cpu.user + with_cpu.system
            time.sleep(0.02)
        if process.poll() is None:
            with_cpu = watched.cpu_times()
            cpu = with_cpu.user + with_cpu.system
            process.send_signal(signal.SIGINT)  # wrk prints its results and calls done()
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    if process.returncode != 0 or not out.exists():
        raise LoadError(f"wrk failed ({process.returncode}): {stderr.strip() or stdout.strip()}")
    result = LoadResult(wrk_cpu_seconds=cpu)
    _parse(out.read_text(), result)
    return result
