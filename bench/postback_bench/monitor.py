"""Memory and CPU of the processes under test, sampled while the load runs."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import psutil

MB = 1024 * 1024


def tree(pid: int) -> list[psutil.Process]:
    """A process and all its descendants (uvicorn's workers, PostgreSQL's backends)."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def rss_bytes(pid: int) -> int:
    total = 0
    for process in tree(pid):
        try:
            total += process.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


def pss_bytes(pid: int) -> int | None:
    """Proportional set size of a tree: shared memory (PostgreSQL's buffers) counted once."""
    total = 0
    for process in tree(pid):
        try:
            total += process.memory_full_info().pss
        except (psutil.NoSuchProcess, psutil.AccessDenied, AttributeError):
            return None
    return total


def cpu_seconds(pid: int | None) -> float:
    if pid is None:
        return 0.0
    total = 0.0
    for process in tree(pid):
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system + times.children_user + times.children_system
    return total


def machine_busy_seconds() -> float:
    """CPU seconds spent by every process on the machine, all cores together."""
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


@dataclass(frozen=True, slots=True)
class CpuShare:
    """Average cores used over a window, by who."""

    server: float
    database: float | None
    load_generator: float
    runner: float  # this process: sampling, waiting for wrk
    everything_else: float


class CpuWindow:
    def __init__(self, server_pid: int, database_pid: int | None) -> None:
        self._server_pid = server_pid
        self._database_pid = database_pid
        self._start = self._snapshot()

    def _snapshot(self) -> tuple[float, float, float, float, float]:
        own = psutil.Process().cpu_times()
        return (
            time.monotonic(),
            cpu_seconds(self._server_pid),
            cpu_seconds(self._database_pid),
            machine_busy_seconds(),
            own.user + own.system,
        )

    def close(self, load_generator_cpu: float) -> CpuShare:
        end = self._snapshot()
        elapsed = max(end[0] - self._start[0], 1e-9)
        server = (end[1] - self._start[1]) / elapsed
        database = (end[2] - self._start[2]) / elapsed
        busy = (end[3] - self._start[3]) / elapsed
        generator = load_generator_cpu / elapsed
        runner = (end[4] - self._start[4]) / elapsed
        return CpuShare(
            server=server,
            database=database if self._database_pid is not None else None,
            load_generator=generator,
            runner=runner,
            everything_else=max(busy - server - database - generator - runner, 0.0),
        )


class PeakMemory:
    """Samples the RSS of a process tree in a background thread; keeps the peak."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        self._pid = pid
        self._interval = interval
        self._stop = threading.Event()
        self.peak = rss_bytes(pid)
        self.last = self.peak
        self._thread = threading.Thread(target=self._run, name="bench-memory", daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.last = rss_bytes(self._pid)
            self.peak = max(self.peak, self.last)
