"""`postback-bench faults`: the service under load while PostgreSQL and the service itself fail.

One run, postbacks sent all along by a separate process (`postback_bench.sender`, which logs
every request and retries a `503` or a failed connection as Involve Asia does):

1. baseline;
2. PostgreSQL restarted (`pg_ctl restart -m fast`);
3. PostgreSQL stopped for 20 s, then started: postbacks are acknowledged from the spool
   meanwhile and replayed after;
4. the service stopped with SIGTERM and started again;
5. PostgreSQL stopped a few seconds so the spool holds postbacks, the service killed with
   SIGKILL, PostgreSQL and the service started again: the service replays the spool at start;

then the spool drains, the sender stops and the database is counted against its log:
every acknowledged postback stored, no first row doubled, no 5xx but 503.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from postback.embedded import EmbeddedPostgres
from postback_bench.database import StoredById, create_partners, server_facts, stored_by_id
from postback_bench.runner import machine_facts, start_embedded
from postback_bench.server import HOST, Server, free_port


@dataclass(frozen=True, slots=True)
class FaultOptions:
    phase_seconds: float = 10.0
    outage_seconds: float = 20.0
    senders: int = 24
    pause: float = 0.02
    partners: int = 2
    repeat: float = 0.05
    keep: bool = False


@dataclass(slots=True)
class PhaseCount:
    """What the sender saw for the postbacks first sent in one phase, and what was stored."""

    name: str
    postbacks: int = 0
    acknowledged: int = 0
    spooled: int = 0
    unanswered: int = 0  # the sender gave up (should not happen: it retries to the end)
    requests: int = 0
    status_503: int = 0
    other_5xx: int = 0
    other_status: int = 0  # 4xx: none expected
    connection_errors: int = 0
    conversions: int = 0  # distinct acknowledged conversion ids
    stored: int = 0
    lost: int = 0
    doubled: int = 0

    def add(self, other: PhaseCount) -> None:
        for name in self.__dataclass_fields__:
            if name != "name":
                setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(slots=True)
class FaultResult:
    options: FaultOptions
    started_at: datetime
    machine: dict[str, str]
    phases: list[PhaseCount]
    events: list[str]
    rows: int = 0
    rows_short: int = 0  # acknowledged postbacks of a conversion beyond its stored rows
    seconds: float = 0.0

    @property
    def total(self) -> PhaseCount:
        total = PhaseCount("total")
        for phase in self.phases:
            total.add(phase)
        return total

    @property
    def ok(self) -> bool:
        total = self.total
        return (
            total.lost == 0
            and total.doubled == 0
            and total.other_5xx == 0
            and total.unanswered == 0
            and self.rows_short == 0
        )


# ---- the run -------------------------------------------------------------------------------


class _Service:
    """`python -m postback serve` on one port, started again after each stop."""

    def __init__(self, url: str, work: Path) -> None:
        self.port = free_port()
        self._work = work
        self._starts = 0
        self._env = {
            k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "POSTBACK_"))
        }
        self._env.update(
            DATABASE_URL=url,
            POSTBACK_HOME=str(work / "home"),
            POSTBACK_SPOOL_DIR=str(work / "spool"),
            POSTBACK_ADMIN_TOKEN=secrets.token_urlsafe(32),
            POSTBACK_CLEANUP_INTERVAL="0",
            LOG_LEVEL="WARNING",
        )
        self.server: Server | None = None

    def start(self) -> float:
        """Start it and wait until /health answers; the seconds that took."""
        started = time.monotonic()
        self._starts += 1
        argv = [
            sys.executable, "-m", "postback", "serve", "--host", HOST, "--port", str(self.port),
        ]  # fmt: skip
        log = self._work / f"service-{self._starts}.log"
        self.server = Server(argv, self._env, f"http://{HOST}:{self.port}/health", log)
        self.server.__enter__()
        return time.monotonic() - started

    def health(self) -> dict[str, Any] | None:
        try:
            url = f"http://{HOST}:{self.port}/health"
            with urllib.request.urlopen(url, timeout=2) as answer:
                body: dict[str, Any] = orjson.loads(answer.read())
                return body
        except (urllib.error.URLError, OSError, orjson.JSONDecodeError):
            return None

    def log_tails(self) -> str:
        return self.server.log_tail() if self.server else ""


def _spool_depth(service: _Service) -> int:
    health = service.health()
    return int(health["spool_depth"]) if health else -1


def _sleep_until(deadline: float, service: _Service, peak: list[int] | None = None) -> None:
    while (left := deadline - time.monotonic()) > 0:
        if peak is not None:
            peak.append(_spool_depth(service))
        time.sleep(min(left, 0.5))


def _wait_drained(service: _Service, timeout: float = 240.0) -> float:
    """Until the database is up and the spool empty; the seconds that took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        health = service.health()
        if health and health["database"] == "up" and health["spool_depth"] == 0:
            return time.monotonic() - started
        time.sleep(0.2)
    raise RuntimeError(f"the spool did not drain in {timeout:.0f} s:\n{service.log_tails()}")


def _timed(action: Callable[[], object]) -> float:
    started = time.monotonic()
    action()
    return time.monotonic() - started


def _scenario(
    options: FaultOptions,
    pg: EmbeddedPostgres,
    service: _Service,
    phase: Callable[[str], None],
    note: Callable[[str], None],
) -> None:
    seconds = options.phase_seconds
    phase("baseline")
    _sleep_until(time.monotonic() + seconds, service)

    phase("PostgreSQL restart")
    end = time.monotonic() + seconds
    note(
        f"`pg_ctl restart -m fast` took {_timed(lambda: pg.pg_ctl('-m', 'fast', 'restart')):.1f} s"
    )
    _sleep_until(end, service)

    phase(f"PostgreSQL down {options.outage_seconds:g} s")
    peak: list[int] = []
    pg.pg_ctl("-m", "fast", "stop")
    _sleep_until(time.monotonic() + options.outage_seconds, service, peak)
    note(f"spool depth during the outage: up to {max(peak, default=0):,} postbacks")
    pg.pg_ctl("restart")
    note(f"spool replayed {_wait_drained(service):.1f} s after PostgreSQL was back")
    _sleep_until(time.monotonic() + seconds / 2, service)

    phase("SIGTERM service")
    end = time.monotonic() + seconds
    server = service.server
    assert server is not None
    stopped = _timed(lambda: server.stop(signal.SIGTERM))
    note(
        f"SIGTERM: the service exited in {stopped:.1f} s; started again in {service.start():.1f} s"
    )
    _sleep_until(end, service)

    phase("SIGKILL service")
    end = time.monotonic() + seconds
    pg.pg_ctl("-m", "fast", "stop")
    _sleep_until(time.monotonic() + 3, service)
    depth = _spool_depth(service)
    assert service.server is not None
    service.server.kill()
    note(f"SIGKILL with PostgreSQL down and {depth:,} postbacks in the spool")
    pg.pg_ctl("restart")
    note(f"service started again in {service.start():.1f} s")
    note(f"spool replayed {_wait_drained(service):.1f} s after the start")
    _sleep_until(end, service)

    phase("drain")
    _wait_drained(service)


def run_faults(options: FaultOptions, say: Callable[[str], None] = print) -> FaultResult:
    run_id = secrets.token_hex(3)
    started_at = datetime.now(UTC)
    began = time.monotonic()
    machine = machine_facts(load_generator="postback_bench.sender (Python asyncio, this machine)")
    work = Path(tempfile.mkdtemp(prefix="postback-faults-"))
    marks: list[tuple[str, float]] = []
    events: list[str] = []
    pg: EmbeddedPostgres | None = None
    sender: subprocess.Popen[bytes] | None = None
    service: _Service | None = None

    def phase(name: str) -> None:
        marks.append((name, time.time()))
        say(f"[{time.monotonic() - began:5.1f} s] {name}")

    def note(text: str) -> None:
        events.append(f"{marks[-1][0]}: {text}")
        say(f"          {text}")

    try:
        say("starting an embedded PostgreSQL for the run…")
        pg, url = start_embedded(work)
        partners = asyncio.run(create_partners(url, run_id, options.partners))
        pg_version, _ = asyncio.run(server_facts(url))
        machine["database"] = f"PostgreSQL {pg_version} (embedded, on this machine)"
        service = _Service(url, work)
        service.start()
        log = work / "requests.jsonl"
        argv = [
            sys.executable, "-m", "postback_bench.sender",
            f"http://{HOST}:{service.port}/postback/", str(log),
            "--tokens", ",".join(p.ts_token for p in partners), "--run", run_id,
            "--senders", str(options.senders), "--pause", str(options.pause),
            "--repeat", str(options.repeat),
        ]  # fmt: skip
        with (work / "sender.log").open("wb") as sender_log:
            sender = subprocess.Popen(argv, stdout=sender_log, stderr=subprocess.STDOUT)  # noqa: S603
        _scenario(options, pg, service, phase, note)
        sender.send_signal(signal.SIGTERM)
        if sender.wait(timeout=60) != 0:
            raise RuntimeError(f"the sender failed:\n{(work / 'sender.log').read_text()}")
        assert service.server is not None
        service.server.stop(signal.SIGTERM)
        say("counting…")
        attempts = [orjson.loads(line) for line in log.read_bytes().splitlines()]
        stored = asyncio.run(stored_by_id(url, [p.id for p in partners]))
        result = FaultResult(options, started_at, machine, [], events)
        _count(result, marks, attempts, stored)
        result.seconds = time.monotonic() - began
        return result
    finally:
        if sender is not None and sender.poll() is None:
            sender.kill()
        if service is not None and service.server is not None:
            service.server.kill()
        if pg is not None:
            # pg_ctl: a restarted server is not the process the library started.
            with contextlib.suppress(subprocess.CalledProcessError):
                pg.pg_ctl("-m", "fast", "stop")
            pg.stop()
        if options.keep:
            say(f"kept the run's files in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


# ---- counting ------------------------------------------------------------------------------


@dataclass(slots=True)
class _Postback:
    conversion_id: str
    first_sent: float
    final_status: int | None = None
    spooled: bool = False


def _phase_of(marks: Sequence[tuple[str, float]], at: float) -> int:
    index = 0
    for i, (_, start) in enumerate(marks):
        if at >= start:
            index = i
    return index


def _count(
    result: FaultResult,
    marks: Sequence[tuple[str, float]],
    attempts: Iterable[dict[str, Any]],
    stored: StoredById,
) -> None:
    phases = [PhaseCount(name) for name, _ in marks]
    postbacks: dict[str, _Postback] = {}
    for attempt in attempts:
        phase = phases[_phase_of(marks, attempt["t"])]
        phase.requests += 1
        status = attempt.get("status")
        if status is None:
            phase.connection_errors += 1
        elif status == 503:
            phase.status_503 += 1
        elif status >= 500:
            phase.other_5xx += 1
        elif status != 200:
            phase.other_status += 1
        postback = postbacks.setdefault(
            attempt["postback"], _Postback(attempt["conversion_id"], attempt["t"])
        )
        if status is not None and status != 503:
            postback.final_status = status
            postback.spooled = bool(attempt.get("spooled"))

    acknowledged_per_id: dict[str, int] = defaultdict(int)
    ids_per_phase: list[set[str]] = [set() for _ in phases]
    for postback in postbacks.values():
        index = _phase_of(marks, postback.first_sent)
        phase = phases[index]
        phase.postbacks += 1
        if postback.final_status == 200:
            phase.acknowledged += 1
            phase.spooled += postback.spooled
            acknowledged_per_id[postback.conversion_id] += 1
            ids_per_phase[index].add(postback.conversion_id)
        elif postback.final_status is None:
            phase.unanswered += 1
    seen: set[str] = set()
    for phase, ids in zip(phases, ids_per_phase, strict=True):
        ids -= seen  # a conversion counts in the phase of its first acknowledged postback
        seen |= ids
        phase.conversions = len(ids)
        phase.stored = sum(1 for c in ids if stored.rows.get(c, 0) > 0)
        phase.lost = phase.conversions - phase.stored
        phase.doubled = len(ids & stored.doubled)
    result.phases = phases
    result.rows = sum(stored.rows.values())
    result.rows_short = sum(
        max(0, n - stored.rows.get(c, 0)) for c, n in acknowledged_per_id.items()
    )
    # First rows doubled for conversions never acknowledged count too.
    result.phases[-1].doubled += len(stored.doubled - seen)


# ---- report --------------------------------------------------------------------------------

COLUMNS = (
    ("phase", "name"),
    ("postbacks", "postbacks"),
    ("acknowledged", "acknowledged"),
    ("of which spooled", "spooled"),
    ("requests", "requests"),
    ("503", "status_503"),
    ("other 5xx", "other_5xx"),
    ("4xx", "other_status"),
    ("connection errors", "connection_errors"),
    ("conversions acknowledged", "conversions"),
    ("stored", "stored"),
    ("lost", "lost"),
    ("first row doubled", "doubled"),
)


def _cells(phase: PhaseCount) -> list[str]:
    return [phase.name if key == "name" else f"{getattr(phase, key):,}" for _, key in COLUMNS]


def table(result: FaultResult) -> list[list[str]]:
    return [_cells(p) for p in [*result.phases, result.total]]


def console(result: FaultResult) -> str:
    rows = [[title for title, _ in COLUMNS], *table(result)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = [
        "  ".join(
            cell.rjust(w) if i else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    verdict = "PASS" if result.ok else "FAIL"
    lines += [
        "",
        f"rows stored: {result.rows:,}; acknowledged postbacks without their row: "
        f"{result.rows_short:,}",
        f"{verdict}: lost {result.total.lost}, first rows doubled {result.total.doubled}, "
        f"5xx other than 503: {result.total.other_5xx}, given up: {result.total.unanswered}",
    ]
    return "\n".join(lines)


def markdown(result: FaultResult) -> str:
    total = result.total
    options = result.options
    lines = [
        "# Reliability under faults",
        "",
        "Written by `make faults` (`postback-bench faults`); run it again to refresh.",
        "",
        "## Method",
        "",
        "One run against an embedded PostgreSQL started for it in a temporary folder. A separate "
        "process (`bench/postback_bench/sender.py`) sends postbacks all along from "
        f"{options.senders} "
        f"senders, each waiting for its answer and {options.pause * 1000:g} ms before the next: "
        f"new conversion ids, and about {options.repeat:.0%} later statuses of a conversion "
        "already acknowledged (stored as duplicates). A `503` or a failed connection is retried "
        "with the same postback until it is answered, as Involve Asia would; the postback counts "
        "as acknowledged once a retry gets `200`. Every request goes to a log: time, conversion "
        "id, status or connection error, and the answer's id / duplicate / spooled.",
        "",
        "Phases, in order:",
        "",
        f"1. **baseline**, {options.phase_seconds:g} s;",
        "2. **PostgreSQL restart**: `pg_ctl restart -m fast`, then load to "
        f"{options.phase_seconds:g} s;",
        f"3. **PostgreSQL down**: `pg_ctl stop -m fast`, {options.outage_seconds:g} s later "
        "started again; the phase lasts until the spool is replayed, plus "
        f"{options.phase_seconds / 2:g} s;",
        "4. **SIGTERM service**: the service is stopped with SIGTERM and started again;",
        "5. **SIGKILL service**: PostgreSQL is stopped for 3 s so the spool holds postbacks, the "
        "service is killed with SIGKILL, PostgreSQL and the service are started again (the "
        "service replays the spool it finds at start);",
        "6. **drain**: until `/health` shows the database up and `spool_depth` 0; then the "
        "sender stops (postbacks in progress are retried until answered) and the service is "
        "stopped with SIGTERM.",
        "",
        "Then the log is counted against the `conversion` table. A postback belongs to the phase "
        "in which it was first sent, a request to the phase in which it was sent. *Stored*: "
        "distinct acknowledged conversion ids that have a row; *lost*: acknowledged but no row; "
        "*first row doubled*: `SELECT conversion_id … WHERE NOT is_duplicate GROUP BY "
        "tenant_id, conversion_id HAVING count(*) > 1`. The run fails on any lost postback, "
        "doubled first row, 5xx other than `503`, or postback left unanswered.",
        "",
        "## Command",
        "",
        "```bash",
        "make faults    # .venv/bin/postback-bench faults",
        "```",
        "",
        f"Run {result.started_at:%Y-%m-%d %H:%M} UTC, {result.seconds:.0f} s in all.",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *[f"| {key} | {value} |" for key, value in result.machine.items()],
        "",
        "## Results",
        "",
        "| " + " | ".join(title for title, _ in COLUMNS) + " |",
        "|---|" + "---:|" * (len(COLUMNS) - 1),
        *["| " + " | ".join(row) + " |" for row in table(result)],
        "",
        f"Rows stored: {result.rows:,} (first rows and duplicates) for {total.acknowledged:,} "
        f"acknowledged postbacks; acknowledged postbacks without their row: {result.rows_short}.",
        "",
        "What happened:",
        "",
        *[f"- {event}" for event in result.events],
        "",
        "## Reading",
        "",
        *_reading(result),
        "",
    ]
    return "\n".join(lines)


def _reading(result: FaultResult) -> list[str]:
    total = result.total
    verdict = (
        "**Pass.** Every acknowledged postback is in the database, no conversion has two first "
        "rows, and no answer was a 5xx other than `503`."
        if result.ok
        else f"**Fail.** lost {total.lost}, first rows doubled {total.doubled}, other 5xx "
        f"{total.other_5xx}, unanswered {total.unanswered}, rows short {result.rows_short}."
    )
    extra = result.rows - total.acknowledged
    lines = [
        verdict,
        "",
        f"- {total.spooled:,} postbacks were acknowledged from the spool ("
        '`"spooled": true`) '
        "while PostgreSQL was away or the spool was still being replayed; all were stored.",
        f"- {total.status_503:,} answers were `503` (the sender retried them) and "
        f"{total.connection_errors:,} requests failed to connect or lost their connection "
        "while the service was stopping or down; each such postback was sent again and "
        "counted once it got its `200`.",
        "- While the spool holds anything, new postbacks go to it too (so none is stored "
        "before one acknowledged earlier): after an outage under steady load it drains at the "
        "replay rate minus the arrival rate (the times above).",
    ]
    if extra > 0:
        lines.append(
            f"- {extra:,} rows more than acknowledged postbacks: a request whose answer was lost "
            "(the connection closed after the row was committed) was retried and stored again, "
            "flagged as a duplicate of the first row — kept, not doubled, as a retry must be."
        )
    return lines


def write_markdown(path: Path, result: FaultResult) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(markdown(result))
