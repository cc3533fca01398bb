"""Database connections: an asyncpg pool for the write path, SQLAlchemy for everything else."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
from sqlalchemy import func, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine


def _with_driver(url: str, drivername: str) -> str:
    parsed: URL = make_url(url).set(drivername=drivername)
    return parsed.render_as_string(hide_password=False)


def asyncpg_url(url: str) -> str:
    """A plain `postgresql://` URL as asyncpg wants it (from `postgres://`, `postgresql+…://`)."""
    return _with_driver(url, "postgresql")


def with_database(url: str, name: str) -> str:
    """The same server's URL for the database `name`."""
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def sqlalchemy_url(url: str) -> str:
    """The same URL with the SQLAlchemy asyncpg dialect."""
    return _with_driver(url, "postgresql+asyncpg")


# Settings of the write pool's sessions. The write path's statements reach every row through an
# index; a plan cached while the table was small (a new database) could otherwise keep
# scanning the whole table after it has grown, batch after batch, until statistics catch up.
WRITE_SESSION = {"timezone": "UTC", "enable_seqscan": "off"}


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Nothing to reset between batches: the write path leaves no session state behind (no
    locks, cursors, listeners or settings), so a returned connection skips the round trip of
    asyncpg's default reset."""


@dataclass
class Database:
    """The ways the app talks to PostgreSQL, opened and closed together."""

    url: str
    engine: AsyncEngine
    write_pool: asyncpg.Pool
    # Background work that runs all the time (the delivery worker): its own two connections,
    # so it never waits for, or holds up, the write path's or the requests'.
    job_pool: asyncpg.Pool

    @classmethod
    async def connect(cls, url: str, *, write_pool_size: int, read_pool_size: int) -> Database:
        engine = create_async_engine(
            sqlalchemy_url(url),
            pool_size=read_pool_size,
            max_overflow=read_pool_size,
            pool_pre_ping=True,
            connect_args={"server_settings": {"timezone": "UTC"}},
        )
        write_pool = await asyncpg.create_pool(
            asyncpg_url(url),
            min_size=1,
            max_size=write_pool_size + 1,
            server_settings=WRITE_SESSION,
            reset=_keep_session,
        )
        job_pool = await asyncpg.create_pool(
            asyncpg_url(url), min_size=0, max_size=2, server_settings={"timezone": "UTC"}
        )
        return cls(url=url, engine=engine, write_pool=write_pool, job_pool=job_pool)

    async def close(self) -> None:
        await self.job_pool.close()
        await self.write_pool.close()
        await self.engine.dispose()


async def try_advisory_lock(conn: AsyncConnection, key: int) -> bool:
    """Take the session-level lock `key` if no other session holds it; never waits."""
    return bool((await conn.execute(select(func.pg_try_advisory_lock(key)))).scalar_one())


async def advisory_unlock(conn: AsyncConnection, key: int) -> bool:
    return bool((await conn.execute(select(func.pg_advisory_unlock(key)))).scalar_one())
