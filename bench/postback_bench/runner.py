"""The benchmark, start to end: database, ceiling phase, postback phase, profile, check.

Both phases run under the same uvicorn settings (uvloop, httptools, no access log, the same
worker count) and the same wrk load, so their ratio isolates the service's own cost.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import os
import platform
import secrets
import shutil
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psutil

from postback.embedded import EmbeddedPostgres
from postback_bench import monitor
from postback_bench.database import (
    Stored,
    count_stored,
    create_partners,
    remove_partners,
    server_facts,
)
from postback_bench.forwarding import Backlog, Receiver, set_forwards, wait_for_backlog
from postback_bench.profile import Profile, finish_recording, start_recording
from postback_bench.server import HOST, Server, free_port
from postback_bench.traffic import Load, LoadResult, run_load, wrk_path, wrk_version

UVICORN_FLAGS = (
    "--loop",
    "uvloop",
    "--http",
    "postback.web.protocol:JoinedWritesProtocol",
    "--no-access-log",
)


@dataclass(frozen=True, slots=True)
class BenchOptions:
    duration: float = 15.0
    warmup: float = 2.0
    connections: int = 32
    workers: int = 1
    threads: int = 1
    partners: int = 4
    repeat: float = 0.05
    database_url: str | None = None
    profile: bool = False
    keep: bool = False
    stages: bool = False
    # Receiving with one forward per partner vs none, alternated in this many pairs.
    forwarding_pairs: int = 0


@dataclass(frozen=True, slots=True)
class Batches:
    """What the group commit did during a phase, from the service's /metrics."""

    count: float
    rows: float
    seconds: float

    @property
    def mean_size(self) -> float:
        return self.rows / self.count if self.count else 0.0

    @property
    def mean_ms(self) -> float:
        return 1000 * self.seconds / self.count if self.count else 0.0

    def __sub__(self, other: Batches) -> Batches:
        return Batches(
            self.count - other.count, self.rows - other.rows, self.seconds - other.seconds
        )


@dataclass(frozen=True, slots=True)
class Phase:
    load: LoadResult
    cpu: monitor.CpuShare
    peak_rss: int
    end_rss: int
    batches: Batches | None = None


@dataclass(frozen=True, slots=True)
class ForwardingPair:
    """The service under the same load without forwards, then with one per partner."""

    off: Phase
    on: Phase
    backlog: Backlog

    @property
    def ratio(self) -> float:
        return self.on.load.ok_per_second / max(self.off.load.ok_per_second, 1e-9)


@dataclass(slots=True)
class BenchResult:
    options: BenchOptions
    started_at: datetime
    machine: dict[str, str]
    database: str
    ceiling: Phase  # the better of the two ceiling runs, before and after the service's
    postback: Phase
    # Every postback run against the service (warm-up, measured, profiled): what the database
    # must hold.
    all_postbacks: LoadResult
    stored: Stored
    database_pss: int | None = None
    profile: Profile | None = None
    ceiling_rates: tuple[float, ...] = ()
    # With --stages: the same app and load with storage taken out (bench/postback_bench/stages.py).
    without_storage: Phase | None = None
    cores: int = 1  # logical cores of the machine the run shared
    forwarding: list[ForwardingPair] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return self.postback.load.ok_per_second / max(self.ceiling.load.ok_per_second, 1e-9)

    @property
    def database_matches(self) -> bool:
        acked = self.all_postbacks
        return (
            self.stored.rows == acked.ok
            and self.stored.duplicates == acked.ok_duplicate
            and self.stored.distinct_conversions == acked.ok - acked.ok_duplicate
            and acked.unanswered == 0
        )


def machine_facts(load_generator: str | None = None) -> dict[str, str]:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass

    def version(name: str) -> str:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return "absent"

    load1, load5, _ = os.getloadavg()
    return {
        "cpu": f"{model}, {os.cpu_count()} logical cores",
        "memory": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
        "os": platform.platform(),
        "python": platform.python_version(),
        "server": (
            f"uvicorn {version('uvicorn')}, uvloop {version('uvloop')}, "
            f"httptools {version('httptools')}"
        ),
        "load generator": load_generator or wrk_version(),
        "load average before the run": f"{load1:.2f} (1 min), {load5:.2f} (5 min)",
    }


def _measure(
    server: Server,
    database_pid: int | None,
    load: Load,
    work: Path,
    batches: Callable[[], Batches | None] = lambda: None,
) -> Phase:
    before = batches()
    window = monitor.CpuWindow(server.pid, database_pid)
    with monitor.PeakMemory(server.pid) as memory:
        result = run_load(load, work)
    cpu = window.close(result.wrk_cpu_seconds)
    after = batches()
    during = after - before if after is not None and before is not None else None
    return Phase(result, cpu, memory.peak, memory.last, during)


_BATCH_SERIES = frozenset(
    ("postback_batch_size_count", "postback_batch_size_sum", "postback_batch_seconds_sum")
)


def scrape_batches(base: str, token: str) -> Batches | None:
    """Batch counters from one worker's /metrics (with several workers, whichever answers)."""
    request = urllib.request.Request(  # noqa: S310 (our own loopback URL)
        f"{base}/metrics", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            text = response.read().decode()
    except OSError:
        return None
    values = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name in _BATCH_SERIES:
            values[name] = float(value)
    if len(values) < 3:
        return None
    return Batches(
        values["postback_batch_size_count"],
        values["postback_batch_size_sum"],
        values["postback_batch_seconds_sum"],
    )


def _load(
    options: BenchOptions,
    port: int,
    tokens: list[str],
    run_id: str,
    *,
    track: bool = True,
    duration: float | None = None,
) -> Load:
    return Load(
        url=f"http://{HOST}:{port}/postback/",
        duration=options.duration if duration is None else duration,
        connections=options.connections,
        threads=options.threads,
        tokens=tokens,
        run_id=run_id,
        track=track,
        repeat=options.repeat,
    )


def _ceiling(options: BenchOptions, tokens: list[str], run_id: str, work: Path) -> Phase:
    port = free_port()
    argv = [
        sys.executable, "-m", "uvicorn", "postback_bench.ceiling:app",
        "--host", HOST, "--port", str(port), "--workers", str(options.workers),
        *UVICORN_FLAGS, "--log-level", "warning",
    ]  # fmt: skip
    with Server(argv, os.environ, f"http://{HOST}:{port}/", work / "ceiling.log") as server:
        if options.warmup > 0:
            warm = _load(options, port, tokens, run_id + "cw", track=False, duration=options.warmup)
            run_load(warm, work)
        return _measure(server, None, _load(options, port, tokens, run_id + "c", track=False), work)


@dataclass(frozen=True, slots=True)
class _ServiceRun:
    phase: Phase
    everything: LoadResult
    profile: Profile | None
    database_pss: int | None


def _service_env(url: str, work: Path, admin_token: str) -> dict[str, str]:
    """The environment of both service phases: the run's database, home and admin token."""
    return {
        **os.environ,
        "DATABASE_URL": url,
        "POSTBACK_HOME": str(work / "home"),
        "LOG_LEVEL": "WARNING",
        "POSTBACK_ADMIN_TOKEN": admin_token,
    }


def _service(
    options: BenchOptions, url: str, tokens: list[str], run_id: str, work: Path, pg_pid: int | None
) -> _ServiceRun:
    port = free_port()
    argv = [
        sys.executable, "-m", "postback", "serve",
        "--host", HOST, "--port", str(port), "--workers", str(options.workers),
    ]  # fmt: skip
    token = secrets.token_urlsafe(32)
    env = _service_env(url, work, token)
    everything = LoadResult()
    profile = None
    with Server(argv, env, f"http://{HOST}:{port}/health", work / "service.log") as server:
        if options.warmup > 0:
            warm = _load(options, port, tokens, run_id + "w", duration=options.warmup)
            everything.add(run_load(warm, work))
        base = f"http://{HOST}:{port}"
        phase = _measure(
            server,
            pg_pid,
            _load(options, port, tokens, run_id + "m"),
            work,
            lambda: scrape_batches(base, token) if options.workers == 1 else None,
        )
        everything.add(phase.load)
        if options.profile:
            output = work / "profile.txt"
            recording = start_recording(
                server.pid, options.duration, output, subprocesses=options.workers > 1
            )
            time.sleep(0.3)  # let py-spy attach before the load starts
            everything.add(run_load(_load(options, port, tokens, run_id + "p"), work))
            profile = finish_recording(recording, output, options.duration)
        pss = monitor.pss_bytes(pg_pid) if pg_pid else None
    return _ServiceRun(phase, everything, profile, pss)


def _without_storage(
    options: BenchOptions, url: str, tokens: list[str], run_id: str, work: Path
) -> Phase:
    port = free_port()
    argv = [
        sys.executable, "-m", "uvicorn", "postback_bench.stages:without_storage", "--factory",
        "--host", HOST, "--port", str(port), "--workers", str(options.workers),
        *UVICORN_FLAGS, "--log-level", "warning",
    ]  # fmt: skip
    env = _service_env(url, work, secrets.token_urlsafe(32))
    log = work / "without-storage.log"
    with Server(argv, env, f"http://{HOST}:{port}/health", log) as server:
        if options.warmup > 0:
            warm = _load(options, port, tokens, run_id + "sw", duration=options.warmup)
            run_load(warm, work)
        return _measure(server, None, _load(options, port, tokens, run_id + "s"), work)


def _forwarding_phase(
    options: BenchOptions,
    url: str,
    tokens: list[str],
    ids: list[int],
    run_id: str,
    work: Path,
    pg_pid: int | None,
    receiver: str | None,
) -> tuple[Phase, LoadResult, Backlog | None]:
    """One service phase with forwards to `receiver` (None: no forwards): the measured load,
    everything sent (for the database check), and with forwards what became of them."""
    asyncio.run(set_forwards(url, ids, receiver))
    port = free_port()
    argv = [
        sys.executable, "-m", "postback", "serve",
        "--host", HOST, "--port", str(port), "--workers", str(options.workers),
    ]  # fmt: skip
    env = {**_service_env(url, work, secrets.token_urlsafe(32))}
    env["POSTBACK_FORWARD_ALLOW_PRIVATE"] = "true"  # the receiver is on this machine
    everything = LoadResult()
    log = work / f"service-{run_id}.log"
    with Server(argv, env, f"http://{HOST}:{port}/health", log) as server:
        if options.warmup > 0:
            warm = _load(options, port, tokens, run_id + "w", duration=options.warmup)
            everything.add(run_load(warm, work))
        phase = _measure(server, pg_pid, _load(options, port, tokens, run_id + "m"), work)
        everything.add(phase.load)
        backlog = wait_for_backlog(url, ids) if receiver is not None else None
    return phase, everything, backlog


def _forwarding(
    options: BenchOptions,
    url: str,
    tokens: list[str],
    ids: list[int],
    run_id: str,
    work: Path,
    pg_pid: int | None,
    everything: LoadResult,
    say: Callable[[str], None],
) -> list[ForwardingPair]:
    pairs = []
    with Receiver(work) as receiver:
        for n in range(options.forwarding_pairs):
            phases: list[Phase] = []
            backlog: Backlog | None = None
            for target in (None, receiver.base):
                state = "on" if target else "off"
                say(
                    f"forwarding {state} (pair {n + 1}/{options.forwarding_pairs}), "
                    f"{options.duration:g} s…"
                )
                phase, sent, found = _forwarding_phase(
                    options, url, tokens, ids, f"{run_id}f{n}{state}", work, pg_pid, target
                )
                everything.add(sent)
                phases.append(phase)
                backlog = found or backlog
            assert backlog is not None
            pairs.append(ForwardingPair(phases[0], phases[1], backlog))
    asyncio.run(set_forwards(url, ids, None))
    return pairs


def start_embedded(work: Path) -> tuple[EmbeddedPostgres, str]:
    """An embedded PostgreSQL under `work/pg`, started, and its URL."""
    # The embedded server's library writes to its runtime folder at interpreter exit, after
    # the work folder is gone: give it one that outlives the run.
    runtime = Path(tempfile.gettempdir()) / "postback-bench-runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
    embedded = EmbeddedPostgres(work / "pg")
    return embedded, embedded.start()


def run_bench(options: BenchOptions, say: Callable[[str], None] = print) -> BenchResult:
    wrk_path()  # fail before starting anything when the load generator is missing
    run_id = secrets.token_hex(3)
    started_at = datetime.now(UTC)
    machine = machine_facts()
    work = Path(tempfile.mkdtemp(prefix="postback-bench-"))
    embedded = None
    url = options.database_url
    try:
        if url is None:
            say("starting an embedded PostgreSQL for the run…")
            embedded, url = start_embedded(work)
        partners = asyncio.run(create_partners(url, run_id, options.partners))
        pg_version, pg_pid = asyncio.run(server_facts(url))
        kind = "embedded" if embedded else "external"
        machine["database"] = f"PostgreSQL {pg_version} ({kind}" + (
            ", on this machine)" if pg_pid else ")"
        )
        tokens = [p.ts_token for p in partners]
        ids = [p.id for p in partners]

        # The ceiling runs before and after the service and the better run counts: a busy
        # neighbour on a shared machine can only lower it, and a lower ceiling flatters the ratio.
        say(f"ceiling: bare ASGI app under the same server and load, {options.duration:g} s…")
        ceilings = [_ceiling(options, tokens, run_id + "a", work)]
        extra = " + the same again under py-spy" if options.profile else ""
        say(f"postback service: {options.duration:g} s{extra}…")
        service = _service(options, url, tokens, run_id, work, pg_pid)
        without_storage = None
        if options.stages:
            say(f"the service without storage (answers, stores nothing), {options.duration:g} s…")
            without_storage = _without_storage(options, url, tokens, run_id, work)
        forwarding = []
        if options.forwarding_pairs:
            forwarding = _forwarding(
                options, url, tokens, ids, run_id, work, pg_pid, service.everything, say
            )
        say(f"ceiling again, {options.duration:g} s…")
        ceilings.append(_ceiling(options, tokens, run_id + "b", work))
        # Counted once the service has stopped: every answer was given before this point.
        stored = asyncio.run(count_stored(url, ids))
        if options.database_url is not None and not options.keep:
            asyncio.run(remove_partners(url, ids))
        return BenchResult(
            options=options,
            started_at=started_at,
            machine=machine,
            database=kind,
            ceiling=max(ceilings, key=lambda phase: phase.load.ok_per_second),
            postback=service.phase,
            all_postbacks=service.everything,
            stored=stored,
            database_pss=service.database_pss,
            profile=service.profile,
            ceiling_rates=tuple(phase.load.ok_per_second for phase in ceilings),
            without_storage=without_storage,
            cores=os.cpu_count() or 1,
            forwarding=forwarding,
        )
    finally:
        if embedded is not None:
            embedded.stop()
        if options.keep:
            say(f"kept the run's files in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
