"""The benchmark's figures as a console table and as the generated part of docs/benchmarks.md."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from postback_bench.monitor import MB
from postback_bench.profile import Profile
from postback_bench.runner import BenchResult, Phase

BEGIN = "<!-- bench:begin — written by `postback-bench run`; text outside these markers is kept -->"
END = "<!-- bench:end -->"
TARGET_RATIO = 0.25
TARGET_P99_MS = 20.0
TARGET_MEMORY_MB = 300.0

HEADER = """# Benchmarks

`make bench` (or `postback-bench run` on a deployment) measures the postback path end to end: it
starts the service (with an embedded PostgreSQL unless `--database-url` is given), sends it
Involve Asia postbacks from wrk, a separate process, and checks afterwards that the database
holds exactly the postbacks that were acknowledged.

How it measures:

- **Traffic** (`bench/postback_bench/traffic.lua`): every request is a new conversion id, except
  about 5% that resend a conversion already acknowledged (a retry or a later status, stored as
  a duplicate). Half are `GET` with a query string, a quarter `POST` with a JSON body, a quarter
  `POST` with a form body; four partners identified by `ts_token` (40/30/20/10% of traffic);
  amounts with thousands separators, unreplaced `{macros}`, the currencies of the offers.
- **Ceiling**: the same wrk load against a bare ASGI app (`bench/postback_bench/ceiling.py`,
  reads the body, answers a fixed JSON) under the same uvicorn settings (uvloop, httptools, no
  access log, same workers), once before and once after the service; the better run counts.
  The ratio to it is what the service's own work costs on this machine.
- **Acknowledged per second**: `200` answers divided by the time from the first request sent to
  the last answer received. At the end no new request is sent and every connection waits for
  its answer, so no request is abandoned in flight and the database check can be exact.
- **Latency**: timed per request by the Lua script, from the moment the request is built to the
  moment its answer (which names its conversion id) is parsed; 32 connections, each waiting for
  its answer before sending again (closed loop). The ceiling's figures are wrk's own.
- **Memory**: peak RSS of the server's process tree, sampled every 0.2 s. **CPU**: cores used on
  average during the measured phase, from the processes' CPU time; "rest of the machine" is
  the machine's remaining busy time (other programs, including ones this container cannot see).
  On a shared machine throughput falls with the CPU the server gets; the per-CPU-second
  figures are less sensitive to that and show what each answer costs.
- **CPU bound**: each phase's CPU per answer (server, database, wrk) set against the cores
  the rest of the machine leaves, with at most one core per server worker: the most answers
  per second those costs allow if no core were ever idle, and how much of that the run reached.
  A ratio the bound itself stays below cannot be reached by keeping the machine busier, only by
  spending less CPU per answer.
- **Profile** (`--profile`): py-spy samples the service for one more run of the same load,
  after the measured one, so sampling does not disturb the figures.

"""


def _rate(value: float) -> str:
    return f"{value:,.0f}/s"


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} ms"


def _mb(value: int | None) -> str:
    return "—" if value is None else f"{value / MB:.0f} MB"


def _cores(phase: Phase) -> str:
    cpu = phase.cpu
    database = "—" if cpu.database is None else f"{cpu.database:.2f}"
    return (
        f"{cpu.server:.2f} / {database} / {cpu.load_generator:.2f} / {cpu.runner:.2f} / "
        f"{cpu.everything_else:.2f}"
    )


def _latencies(phase: Phase, own: bool) -> str:
    load = phase.load
    if own:
        values = [load.percentile_ms(p) for p in (50, 95, 99)]
    else:
        values = [load.wrk_latency_ms.get(p) for p in (50, 95, 99)]
    return " / ".join(_ms(v) for v in values)


def _errors(phase: Phase) -> str:
    load = phase.load
    details = [f"{s}×{n}" for s, n in sorted(load.statuses.items()) if s != 200]
    sockets = sum(v for k, v in load.socket_errors.items() if k != "timeout")
    if sockets:
        details.append(f"{sockets} socket errors")
    if load.unanswered > 0:
        details.append(f"{load.unanswered} unanswered")
    return f"{load.errors:,}" + (f" ({', '.join(details)})" if details else "")


def _per_core_second(phase: Phase, with_database: bool = False) -> float:
    cores = phase.cpu.server + ((phase.cpu.database or 0.0) if with_database else 0.0)
    return phase.load.ok_per_second / max(cores, 1e-9)


@dataclass(frozen=True, slots=True)
class CpuBound:
    """The most answers per second a phase's CPU costs allow if no core were ever idle.

    Every answer costs the server, the database and wrk some CPU; together they can use the
    cores the rest of the machine leaves, and the server no more than one core per worker.
    The measured rate divided by this bound is how busy the run kept the machine.
    """

    server_us: float
    database_us: float
    load_generator_us: float
    free_cores: float
    rate: float


def _us_per_answer(phase: Phase, cores: float) -> float:
    """`cores` used during the phase, as CPU microseconds per answer."""
    return 1e6 * cores / max(phase.load.ok_per_second, 1e-9)


def cpu_bound(phase: Phase, cores: int, workers: int) -> CpuBound:
    cpu = phase.cpu
    server = _us_per_answer(phase, cpu.server)
    database = _us_per_answer(phase, cpu.database or 0.0)
    load_generator = _us_per_answer(phase, cpu.load_generator)
    free = max(cores - cpu.runner - cpu.everything_else, 0.0)
    per_answer = max(server + database + load_generator, 1e-6)
    rate = 1e6 * min(free / per_answer, workers / max(server, 1e-6))
    return CpuBound(server, database, load_generator, free, rate)


def _bound(result: BenchResult, phase: Phase) -> str:
    bound = cpu_bound(phase, result.cores, result.options.workers)
    ceiling = max(result.ceiling.load.ok_per_second, 1e-9)
    return (
        f"{_rate(bound.rate)} ({bound.rate / ceiling:.1%} of the ceiling; "
        f"{phase.load.ok_per_second / max(bound.rate, 1e-9):.0%} reached): "
        f"{bound.server_us:.0f} + {bound.database_us:.0f} + {bound.load_generator_us:.0f} µs, "
        f"{bound.free_cores:.2f} cores free"
    )


def targets(result: BenchResult) -> list[tuple[str, str, bool]]:
    p99 = result.postback.load.percentile_ms(99)
    stored, acked = result.stored, result.all_postbacks
    return [
        (
            "acknowledged postbacks/s ≥ 25% of the bare ASGI ceiling",
            f"{result.ratio:.1%}",
            result.ratio >= TARGET_RATIO,
        ),
        (
            f"p99 ≤ 20 ms with {result.options.connections} concurrent senders",
            _ms(p99),
            p99 is not None and p99 <= TARGET_P99_MS,
        ),
        (
            "server memory < 300 MB (peak RSS)",
            _mb(result.postback.peak_rss),
            result.postback.peak_rss / MB < TARGET_MEMORY_MB,
        ),
        (
            "database holds exactly the acknowledged postbacks",
            f"{stored.rows:,} rows for {acked.ok:,} acknowledgements",
            result.database_matches,
        ),
    ]


def results_table(result: BenchResult) -> list[tuple[str, str, str]]:
    ceiling, service = result.ceiling, result.postback
    return [
        (
            "answered 200 per second",
            _rate(ceiling.load.ok_per_second),
            f"{_rate(service.load.ok_per_second)} ({result.ratio:.1%} of the ceiling)",
        ),
        (
            "ceiling runs, before / after the service (the better counts)",
            " / ".join(_rate(r) for r in result.ceiling_rates),
            "",
        ),
        ("measured for", f"{ceiling.load.window:.1f} s", f"{service.load.window:.1f} s"),
        (
            "requests sent / answered 200",
            f"{ceiling.load.sent:,} / {ceiling.load.ok:,}",
            f"{service.load.sent:,} / {service.load.ok:,}",
        ),
        ("errors (anything but a 200)", _errors(ceiling), _errors(service)),
        (
            "latency p50 / p95 / p99",
            _latencies(ceiling, own=False) + " (wrk)",
            _latencies(service, own=True),
        ),
        ("duplicates acknowledged", "—", f"{service.load.ok_duplicate:,}"),
        (
            "server memory, peak RSS (end of run)",
            f"{_mb(ceiling.peak_rss)} ({_mb(ceiling.end_rss)})",
            f"{_mb(service.peak_rss)} ({_mb(service.end_rss)})",
        ),
        (
            "200s per CPU-second of the server (of server + database)",
            _rate(_per_core_second(ceiling)),
            f"{_rate(_per_core_second(service))} ({_rate(_per_core_second(service, True))}); "
            f"{_per_core_second(service) / max(_per_core_second(ceiling), 1e-9):.1%} "
            "of the ceiling's",
        ),
        (
            "CPU cores used: server / database / wrk / bench runner / rest of the machine",
            _cores(ceiling),
            _cores(service),
        ),
        (
            "with no core idle at most (CPU per answer: server + database + wrk)",
            _bound(result, ceiling),
            _bound(result, service),
        ),
        ("batches: count, mean size, mean time to commit", "—", _batches(service)),
    ]


def _batches(phase: Phase) -> str:
    b = phase.batches
    if b is None or not b.count:
        return "— (one worker only)"
    return f"{b.count:,.0f}, {b.mean_size:.1f} rows, {b.mean_ms:.2f} ms"


def command_line(result: BenchResult) -> str:
    o = result.options
    parts = [
        "postback-bench run",
        f"--duration {o.duration:g}",
        f"--warmup {o.warmup:g}",
        f"--connections {o.connections}",
        f"--workers {o.workers}",
        f"--threads {o.threads}",
        f"--partners {o.partners}",
        f"--repeat {o.repeat:g}",
    ]
    if o.profile:
        parts.append("--profile")
    if o.stages:
        parts.append("--stages")
    if o.forwarding_pairs:
        parts.append(f"--forwarding {o.forwarding_pairs}")
    if o.database_url:
        parts.append("--database-url postgresql://…")
    return " ".join(parts)


def console(result: BenchResult) -> str:
    rows = [("", "bare ASGI ceiling", "postback service"), *results_table(result)]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = ["", "  ".join(c.ljust(w) for c, w in zip(rows[0], widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows[1:]]
    lines.append("")
    for name, value, met in targets(result):
        lines.append(f"  [{'met ' if met else 'MISS'}] {name}: {value}")
    stored, acked = result.stored, result.all_postbacks
    lines.append(
        f"  database: {stored.rows:,} rows ({stored.duplicates:,} duplicates, "
        f"{stored.rejections:,} rejections) for {acked.ok:,} acknowledged "
        f"({acked.ok_duplicate:,} duplicates) over all runs"
    )
    if result.without_storage is not None:
        lines += ["", "stages (server CPU per answer):"]
        lines += [f"  {a:64} {b:>9} {c:>6}  {d}" for a, b, c, d in stages_table(result)]
    if result.forwarding:
        lines += ["", "forwarding (one forward per partner) vs none, alternated:"]
        lines += [f"  {' | '.join(row)}" for row in forwarding_table(result)]
    if result.profile is not None:
        lines += ["", "profile, own time by component:"]
        lines += [f"  {share:6.1%}  {name}" for name, share in _components(result.profile)[:10]]
    return "\n".join(lines)


def forwarding_table(result: BenchResult) -> list[tuple[str, ...]]:
    """Per pair: answered 200/s and p99 without and with forwards, their ratio, and what
    became of the deliveries; then the mean ratio."""
    rows: list[tuple[str, ...]] = [
        (
            "pair",
            "off: 200/s",
            "on: 200/s",
            "on / off",
            "p99 off / on",
            "deliveries",
            "sent during load",
            "drained",
        )
    ]
    for n, pair in enumerate(result.forwarding, 1):
        backlog = pair.backlog
        rows.append(
            (
                str(n),
                _rate(pair.off.load.ok_per_second),
                _rate(pair.on.load.ok_per_second),
                f"{pair.ratio:.1%}",
                f"{_ms(pair.off.load.percentile_ms(99))} / {_ms(pair.on.load.percentile_ms(99))}",
                f"{backlog.queued:,}" + (f" ({backlog.dead:,} dead)" if backlog.dead else ""),
                f"{backlog.sent_during_load:,}",
                f"{backlog.drain_seconds:.1f} s",
            )
        )
    mean = sum(p.ratio for p in result.forwarding) / len(result.forwarding)
    rows.append(("mean", "", "", f"{mean:.1%}", "", "", "", ""))
    return rows


def stages_table(result: BenchResult) -> list[tuple[str, str, str, str]]:
    """Each stage's rate, ratio to the ceiling and server CPU per answer; then what each
    stage adds to the one before it."""
    without = result.without_storage
    if without is None:
        return []
    ceiling = result.ceiling.load.ok_per_second
    phases = [
        ("bare ASGI endpoint (the ceiling)", result.ceiling),
        ("service, storage taken out: HTTP, parsing, validation, rows", without),
        ("service, stored (everything)", result.postback),
    ]
    server = [_us_per_answer(phase, phase.cpu.server) for _, phase in phases]
    rows = [
        (
            name,
            _rate(phase.load.ok_per_second),
            f"{phase.load.ok_per_second / max(ceiling, 1e-9):.1%}",
            f"{us:.0f} µs ({phase.cpu.server:.2f} cores)",
        )
        for (name, phase), us in zip(phases, server, strict=True)
    ]
    parsing, storing = server[1] - server[0], server[2] - server[1]
    rows += [
        ("added by parsing, validation and building the row", "", "", f"{parsing:+.0f} µs"),
        ("added by storing (group commit, driver, database beside)", "", "", f"{storing:+.0f} µs"),
    ]  # fmt: skip
    return rows


def _components(profile: Profile) -> list[tuple[str, float]]:
    total = max(profile.samples, 1)
    return [(name, count / total) for name, count in profile.components.most_common()]


def _profile_markdown(profile: Profile, top: int = 15) -> list[str]:
    total = max(profile.samples, 1)
    lines = [
        "### Profile",
        "",
        f"py-spy, {profile.seconds:.0f} s at 200 Hz under the same load: {profile.samples:,} "
        f"samples; the server's thread was not waiting for I/O in {profile.busy:.0%} of "
        "them (running, or ready to run while other processes had the CPU). Own time "
        "is charged to the innermost Python function, including the C code it calls "
        "(orjson, httptools, asyncpg's encoders); time in the event loop's C code and in "
        "Cython callbacks (asyncpg reading replies) shows as `Runner.run`.",
        "",
        "Own time by component:",
        "",
        "| share | component |",
        "|---:|---|",
        *[f"| {share:.1%} | {name} |" for name, share in _components(profile)],
        "",
        f"Top {top} functions by own time:",
        "",
        "| own | function | file |",
        "|---:|---|---|",
    ]
    for (function, path), count in profile.own.most_common(top):
        lines.append(f"| {count / total:.1%} | `{function}` | {path} |")
    ours = [
        (key, count)
        for key, count in profile.inclusive.most_common()
        if key[1].startswith("postback/") and count < 0.99 * total  # not the entry points
    ][:top]
    lines += [
        "",
        f"Top {top} of the service's own functions by total time (with what they call):",
        "",
        "| total | function | file |",
        "|---:|---|---|",
        *[f"| {c / total:.1%} | `{f}` | {p} |" for (f, p), c in ours],
        "",
    ]
    return lines


def markdown(result: BenchResult) -> str:
    started = result.started_at.strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        BEGIN,
        f"## Latest run: {started}",
        "",
        f"Command: `{command_line(result)}` (`make bench` runs "
        "`postback-bench run --profile --stages --forwarding 2`, with the defaults shown here; "
        "`make bench BENCH_ARGS=…` adds options)",
        "",
        "| machine | |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in result.machine.items()],
        "",
        "### Results",
        "",
        "| | bare ASGI ceiling | postback service |",
        "|---|---|---|",
        *[f"| {a} | {b} | {c} |" for a, b, c in results_table(result)],
        "",
        "### Targets",
        "",
        "| target | measured | |",
        "|---|---|---|",
        *[f"| {n} | {v} | {'met' if m else '**missed**'} |" for n, v, m in targets(result)],
        "",
        "### Database check",
        "",
        _database_paragraph(result),
        "",
    ]
    if result.without_storage is not None:
        lines += [
            "### Stages",
            "",
            "The same app, server and load once more with storage taken out "
            "(`bench/postback_bench/stages.py`: every row is acknowledged and none is written), so "
            "the server's CPU per answer splits into the bare endpoint's, what the service "
            "adds before storing, and what storing adds.",
            "",
            "| stage | answered 200 per second | of the ceiling | server CPU per answer |",
            "|---|---:|---:|---|",
            *[f"| {a} | {b} | {c} | {d} |" for a, b, c, d in stages_table(result)],
            "",
        ]
    if result.forwarding:
        header, *rows = forwarding_table(result)
        lines += [
            "### Forwarding on vs off",
            "",
            "The service under the same load without forwards, then with one forward per "
            "partner to a receiver on this machine (every stored conversion queues a delivery in "
            "the write statement, and the instance's worker sends it during the load), in "
            "alternated pairs. Deliveries counts warm-up and measured load; *drained* is the time "
            "after the load until none was pending.",
            "",
            "| " + " | ".join(header) + " |",
            "|" + "---|" * len(header),
            *["| " + " | ".join(row) + " |" for row in rows],
            "",
        ]
    if result.profile is not None:
        lines += _profile_markdown(result.profile)
    lines.append(END)
    return "\n".join(lines)


def _database_paragraph(result: BenchResult) -> str:
    stored, acked = result.stored, result.all_postbacks
    verdict = "They match exactly." if result.database_matches else "**They do not match.**"
    return (
        f"Over every run against the service (warm-up, measured"
        f"{', profiled' if result.options.profile else ''}), {acked.sent:,} postbacks were sent "
        f"and {acked.ok:,} acknowledged with a 200, {acked.ok_duplicate:,} of them as "
        f"duplicates; {max(acked.unanswered, 0)} were left without an answer. After the service "
        f"stopped, the database held {stored.rows:,} conversion rows for the run's partners: "
        f"{stored.duplicates:,} duplicates, {stored.distinct_conversions:,} distinct "
        f"conversions, and {stored.rejections:,} rejections. {verdict}"
    )


def write_markdown(path: Path, result: BenchResult) -> None:
    """Replace the generated block of `path`, keeping everything written around it."""
    block = markdown(result)
    text = path.read_text() if path.exists() else HEADER + BEGIN + "\n" + END + "\n"
    if BEGIN in text and END in text:
        before, rest = text.split(BEGIN, 1)
        after = rest.split(END, 1)[1]
        text = before + block + after
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
