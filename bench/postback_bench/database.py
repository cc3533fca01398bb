"""The harness's SQL in one place: scratch databases, the benchmark's partners, and the checks
that the database holds what was acknowledged. (The bulk loaders of the dashboard and question
benchmarks keep their generating statements beside their data sets.)"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from postback import migrate
from postback.audit import service as audit
from postback.cli_support import cli_actor
from postback.db import asyncpg_url, sqlalchemy_url, with_database
from postback.tenants import service as tenant_service


@dataclass(frozen=True, slots=True)
class Partner:
    id: int
    slug: str
    ts_token: str


@dataclass(frozen=True, slots=True)
class Stored:
    """What the database holds for the benchmark's partners."""

    rows: int
    duplicates: int
    distinct_conversions: int
    rejections: int


@contextlib.asynccontextmanager
async def _session(url: str) -> AsyncIterator[AsyncSession]:
    engine = create_async_engine(sqlalchemy_url(url))
    try:
        async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
            audit.act_as(session, cli_actor())  # the benchmark's changes, as its OS user's
            yield session
    finally:
        await engine.dispose()


async def create_partners(url: str, run_id: str, count: int) -> list[Partner]:
    """Migrate, then create `count` partners whose slugs and tokens belong to this run."""
    await migrate.upgrade(url)
    partners = []
    async with _session(url) as session:
        for i in range(1, count + 1):
            token = f"bench{run_id}{i}{secrets.token_hex(8)}"
            created = await tenant_service.create_tenant(
                session, name=f"Benchmark partner {i}", slug=f"bench-{run_id}-{i}", ts_token=token
            )
            partners.append(Partner(created.tenant.id, created.tenant.slug, token))
    return partners


async def count_stored(url: str, tenant_ids: Sequence[int]) -> Stored:
    conn = await asyncpg.connect(asyncpg_url(url))
    try:
        row = await conn.fetchrow(
            """
            SELECT count(*) AS rows,
                   count(*) FILTER (WHERE is_duplicate) AS duplicates,
                   count(DISTINCT (tenant_id, conversion_id)) AS distinct_conversions
            FROM conversion WHERE tenant_id = ANY($1::int8[])
            """,
            list(tenant_ids),
        )
        rejections = await conn.fetchval(
            "SELECT count(*) FROM rejection WHERE tenant_id = ANY($1::int8[])", list(tenant_ids)
        )
    finally:
        await conn.close()
    assert row is not None
    return Stored(row["rows"], row["duplicates"], row["distinct_conversions"], rejections)


async def remove_partners(url: str, tenant_ids: Sequence[int]) -> None:
    """Delete the benchmark's partners and everything stored for them."""
    conn = await asyncpg.connect(asyncpg_url(url))
    try:
        async with conn.transaction():
            for table in ("conversion", "rejection"):
                await conn.execute(
                    f"DELETE FROM {table} WHERE tenant_id = ANY($1::int8[])",  # noqa: S608
                    list(tenant_ids),
                )
            await conn.execute("DELETE FROM tenant WHERE id = ANY($1::int8[])", list(tenant_ids))
    finally:
        await conn.close()


async def server_facts(url: str) -> tuple[str, int | None]:
    """PostgreSQL's version, and its postmaster's pid when it runs on this machine."""
    conn = await asyncpg.connect(asyncpg_url(url))
    try:
        version = str(await conn.fetchval("SHOW server_version"))
        try:
            data_directory = str(await conn.fetchval("SHOW data_directory"))
        except asyncpg.PostgresError:  # not allowed to see it: not our machine's business
            return version, None
    finally:
        await conn.close()
    pid_file = Path(data_directory) / "postmaster.pid"
    try:
        return version, int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return version, None


async def compact(url: str, zone: str) -> None:
    """The app's compaction, once: pending deltas folded, `zone`'s day cells built."""
    from postback.rollups import service

    engine = create_async_engine(sqlalchemy_url(url))
    try:
        await service.compact(engine, zone)
    finally:
        await engine.dispose()


async def create_database(server: str, name: str) -> str:
    """A new, empty database on `server`; its URL."""
    await _admin(server, f'CREATE DATABASE "{name}"')
    return with_database(server, name)


async def drop_database(server: str, name: str) -> None:
    await _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _admin(server: str, sql: str) -> None:
    conn = await asyncpg.connect(asyncpg_url(server))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def backend_pids(conn: asyncpg.Connection) -> list[int]:
    """The server processes serving this database's other connections."""
    rows = await conn.fetch(
        "SELECT pid FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    return [r["pid"] for r in rows]


@dataclass(frozen=True, slots=True)
class StoredById:
    rows: dict[str, int]  # conversion id -> rows (first row and duplicates)
    doubled: set[str]  # conversion ids with more than one first row


async def stored_by_id(url: str, tenant_ids: Sequence[int]) -> StoredById:
    """Rows per conversion id for these partners, and the ids stored first twice."""
    conn = await asyncpg.connect(asyncpg_url(url))
    try:
        rows = await conn.fetch(
            "SELECT conversion_id, count(*) AS n FROM conversion "
            "WHERE tenant_id = ANY($1::int8[]) GROUP BY conversion_id",
            list(tenant_ids),
        )
        doubled = await conn.fetch(
            "SELECT conversion_id FROM conversion "
            "WHERE tenant_id = ANY($1::int8[]) AND NOT is_duplicate "
            "GROUP BY tenant_id, conversion_id HAVING count(*) > 1",
            list(tenant_ids),
        )
    finally:
        await conn.close()
    return StoredById(
        {r["conversion_id"]: r["n"] for r in rows}, {r["conversion_id"] for r in doubled}
    )
