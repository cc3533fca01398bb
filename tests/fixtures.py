"""Test fixtures: a real PostgreSQL (TEST_DATABASE_URL's server, or an embedded one), the app
running with its lifespan, and an HTTP client on it. Each test starts from empty tables."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST
from asgi_lifespan import LifespanManager

from postback.accounts import passwords
from postback.app import PostbackApp, create_app
from postback.db import asyncpg_url, with_database
from postback.embedded import EmbeddedPostgres
from postback.settings import Settings
from tests.forwarding.receiver import Receiver

ADMIN_TOKEN = "test-admin-token-0123456789abcdef"

# Passwords are hashed with argon2's cheapest parameters in the tests: the service's own
# (64 MiB, three passes) take a quarter of a second of a shared core per user created or
# signed in, and the role walk of tests/test_security.py creates and signs in hundreds.
# tests/accounts/test_passwords.py checks the service's parameters in a process of its own.
passwords.use_hasher(PasswordHasher.from_parameters(CHEAPEST))
ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / ".pytest-data"


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """A PostgreSQL server to create the test database on."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        yield asyncpg_url(url)
        return
    embedded = EmbeddedPostgres(DATA_DIR)
    try:
        url = embedded.start()
        asyncio.run(_throwaway_durability(url))
        yield url
    finally:
        embedded.stop()


async def _throwaway_durability(url: str) -> None:
    """The tests' own server keeps nothing worth a flush to disk: without fsync and waits for
    the WAL at commit, each test's TRUNCATE of the tables is about three times faster. Only
    this data folder's server (.pytest-data), never a service's."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("ALTER SYSTEM SET fsync = off")
        await conn.execute("ALTER SYSTEM SET synchronous_commit = off")
        await conn.execute("ALTER SYSTEM SET full_page_writes = off")
        await conn.execute("SELECT pg_reload_conf()")
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def database_url(server_url: str) -> Iterator[str]:
    """A fresh database for this test run, dropped at the end."""
    name = f"postback_test_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(server_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield with_database(server_url, name)
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def make_settings(database_url: str, home: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "DATABASE_URL": database_url,
        "POSTBACK_ADMIN_TOKEN": ADMIN_TOKEN,
        "POSTBACK_HOME": str(home),
        "LOG_LEVEL": "WARNING",
        "POSTBACK_TENANT_CACHE_SECONDS": 0,
        # Tests decide when the retention cleanup runs (tests/lifecycle).
        "POSTBACK_CLEANUP_INTERVAL": 0,
        # Tests scan for anomalies at the moments they choose (tests/anomalies).
        "POSTBACK_ANOMALY_INTERVAL": 0,
        # Tests send the due reports when they choose (tests/reports).
        "POSTBACK_REPORT_INTERVAL": 0,
        # Forwarding tests send to receivers on loopback, on a short retry schedule.
        "POSTBACK_FORWARD_ALLOW_PRIVATE": True,
        "POSTBACK_FORWARD_RETRY_SECONDS": "0.2,0.4",
        "POSTBACK_FORWARD_TIMEOUT": 2,
        "POSTBACK_FORWARD_POLL_INTERVAL": 0.1,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(database_url, tmp_path_factory.mktemp("home"))


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[PostbackApp]:
    application = create_app(settings)
    async with LifespanManager(application, startup_timeout=60, shutdown_timeout=60):
        yield application


@pytest.fixture(scope="session")
async def db(app: PostbackApp, database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A direct connection for checking what the database really holds."""
    conn = await asyncpg.connect(database_url)
    await conn.execute("SET TIME ZONE 'UTC'")
    yield conn
    await conn.close()


# What each test starts without: these tables and every table that refers to them.
EMPTIED = (
    "conversion",
    "rejection",
    "tenant",
    "app_user",
    "sign_in_session",
    "audit_entry",
    "anomaly_scan",
)
# Past this many rows in a table, emptying it by TRUNCATE is cheaper than by DELETE.
DELETE_AT_MOST = 5_000


@dataclass(frozen=True)
class _Emptying:
    tables: list[str]  # referring tables before the tables they refer to
    sequences: list[str]


_emptying: dict[str, _Emptying] = {}


async def _emptying_of(conn: asyncpg.Connection) -> _Emptying:
    """The tables `TRUNCATE EMPTIED CASCADE` would empty, in an order DELETE can take them
    (each table after every table that refers to it), and the sequences their columns own."""
    key = await conn.fetchval("SELECT current_database()")
    if key in _emptying:
        return _emptying[key]
    references = await conn.fetch(
        "SELECT conrelid::regclass::text AS child, confrelid::regclass::text AS parent"
        " FROM pg_constraint WHERE contype = 'f' AND conrelid <> confrelid"
    )
    tables = set(EMPTIED)
    while True:
        more = {r["child"] for r in references if r["parent"] in tables} - tables
        if not more:
            break
        tables |= more
    ordered: list[str] = []
    left = set(tables)
    while left:
        ready = sorted(
            t for t in left if not any(r["parent"] == t and r["child"] in left for r in references)
        )
        assert ready, f"a cycle of references among {sorted(left)}"
        ordered += ready
        left -= set(ready)
    sequences = await conn.fetch(
        "SELECT DISTINCT s.oid::regclass::text AS name FROM pg_class s"
        " JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass"
        " AND d.deptype IN ('a', 'i')"
        " WHERE s.relkind = 'S' AND d.refobjid = ANY($1::regclass[])",
        ordered,
    )
    # What the tables' ON TRUNCATE triggers empty besides (the rollups of `conversion`), in
    # the order their TRUNCATE names them: a DELETE runs no such trigger.
    sources = await conn.fetch(
        "SELECT p.prosrc FROM pg_trigger g JOIN pg_proc p ON p.oid = g.tgfoid"
        " WHERE NOT g.tgisinternal AND g.tgtype & 32 <> 0 AND g.tgrelid = ANY($1::regclass[])",
        ordered,
    )
    for source in sources:
        for statement in re.findall(r"TRUNCATE\s+([^;]+);", source["prosrc"]):
            for table in (t.strip() for t in statement.split(",")):
                if table not in ordered:
                    ordered.append(table)
    _emptying[key] = _Emptying(ordered, sorted(r["name"] for r in sequences))
    return _emptying[key]


async def _empty_tables(conn: asyncpg.Connection) -> None:
    """Empties the tables as `TRUNCATE … RESTART IDENTITY CASCADE` would. Small tables by
    DELETE, which takes no lock a reader waits on and costs a few milliseconds where a
    TRUNCATE of twenty tables costs a hundred or more; a large one by TRUNCATE."""
    emptying = await _emptying_of(conn)
    large = await conn.fetchval(
        "SELECT "
        + " OR ".join(
            f"EXISTS (SELECT 1 FROM {t} OFFSET {DELETE_AT_MOST})" for t in emptying.tables
        )
    )
    if large:
        await conn.execute(f"TRUNCATE {', '.join(EMPTIED)} RESTART IDENTITY CASCADE")
        return
    async with conn.transaction():
        # Without row triggers (the rollups' bookkeeping, and the foreign keys' checks: every
        # referring table is emptied first anyway), as a TRUNCATE runs none of them.
        await conn.execute("SET LOCAL session_replication_role = replica")
        await conn.execute("; ".join(f"DELETE FROM {t}" for t in emptying.tables))
        await conn.execute(
            "SELECT setval(s::regclass, 1, false) FROM unnest($1::text[]) s", emptying.sequences
        )


@pytest.fixture(autouse=True)
async def clean_tables(request: pytest.FixtureRequest) -> None:
    if "db" not in request.fixturenames:
        return
    conn: asyncpg.Connection = request.getfixturevalue("db")
    application: PostbackApp = request.getfixturevalue("app")
    # A request of the previous test may still be reading the rollups (their tables, then
    # `conversion`) while a truncate takes `conversion`, then the rollups: PostgreSQL ends
    # such a deadlock by failing one side, and the emptying simply runs again.
    for attempt in range(8):
        try:
            await _empty_tables(conn)
            await conn.execute(
                "INSERT INTO tenant (slug, name, is_default) VALUES ('default', 'Default', true)"
            )
            break
        except asyncpg.DeadlockDetectedError:
            if attempt == 7:
                raise
            await asyncio.sleep(0.05 * (attempt + 1))
    await application.state.directory.reload()
    await application.state.ingest.limiter.reset()


@pytest.fixture
async def client(app: PostbackApp, db: asyncpg.Connection) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
def admin_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """REDIS_URL's server, or a redis-server the suite starts itself on a free port."""
    url = os.environ.get("REDIS_URL")
    if url:
        yield url
        return
    import shutil
    import subprocess
    import time

    binary = shutil.which("redis-server")
    assert binary, "redis-server is needed for the Redis tests: `make test` installs it"
    port = _free_port()
    workdir = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket_ok = __import__("socket").create_connection(("127.0.0.1", port), 0.2)
                socket_ok.close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def receiver_server() -> Iterator[Receiver]:
    """A partner's tracker: a real HTTP server on loopback that records what forwards send."""
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def receiver(receiver_server: Receiver) -> Receiver:
    receiver_server.reset()
    return receiver_server


CHROMIUM = "/usr/bin/chromium"
# Chromium's own background traffic (updates, sync, safe browsing) is off: pages under test
# must reach nothing but the app.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
async def live_server(app: PostbackApp) -> AsyncIterator[str]:
    """The test app served over real HTTP on a free port (its lifespan already runs)."""
    import uvicorn

    port = _free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        lifespan="off",
        log_level="warning",
        # A page left open (the dashboard's live feed reconnects by itself) must not hold the
        # end of the run.
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    try:
        await asyncio.wait_for(asyncio.shield(task), timeout=15)
    except TimeoutError:
        # A stuck shutdown must fail loudly, not hold the whole run.
        state = server.server_state
        server.force_exit = True
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        raise AssertionError(
            f"the test server did not stop: {len(state.connections)} connections, "
            f"{len(state.tasks)} tasks"
        ) from None


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[object]:
    """Debian's Chromium driven by Playwright (`make test` installs the package)."""
    from playwright.async_api import async_playwright

    assert Path(CHROMIUM).exists(), "Chromium is needed for browser tests: `make test` installs it"
    async with async_playwright() as playwright:
        instance = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        await instance.close()


@pytest.fixture
def screenshot_dir(tmp_path: Path) -> Path:
    """Where browser tests keep screenshots: POSTBACK_SCREENSHOTS (docs/screenshots via
    `make screenshots`), else a temporary folder."""
    target = Path(os.environ.get("POSTBACK_SCREENSHOTS", tmp_path))
    target.mkdir(parents=True, exist_ok=True)
    return target


# Not a timing assertion: only a guard so a hung command fails the test instead of the run.
COMMAND_TIMEOUT = 120


@dataclass(frozen=True)
class Run:
    """What a `python -m postback …` subprocess returned."""

    code: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(app, database_url: str, tmp_path: Path):
    """Run `python -m postback …` with DATABASE_URL pointing at the (migrated) test database."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "POSTBACK_HOME": str(tmp_path / "home"),
        "LOG_LEVEL": "WARNING",
    }

    async def run(*args: str, stdin: str | None = None) -> Run:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "postback",
            *args,
            cwd=tmp_path,
            env=env,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        given = stdin.encode() if stdin is not None else None
        stdout, stderr = await asyncio.wait_for(process.communicate(given), COMMAND_TIMEOUT)
        assert process.returncode is not None
        return Run(process.returncode, stdout.decode(), stderr.decode())

    return run
