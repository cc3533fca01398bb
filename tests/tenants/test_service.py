"""Two operators creating or changing partners at the same moment, in two transactions.

Each check sees nothing wrong (the other transaction has not committed); the database's
unique constraint decides, and the loser gets the same 409 naming the field."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from postback.app import PostbackApp
from postback.audit import service as audit
from postback.errors import Conflict
from postback.tenants import service
from tests.factories import TEST_ACTOR


async def blocked_on_a_lock(db: asyncpg.Connection) -> None:
    for _ in range(500):
        if await db.fetchval("SELECT count(*) FROM pg_locks WHERE NOT granted"):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the second transaction never waited for the first")


async def race(
    app: PostbackApp,
    db: asyncpg.Connection,
    first: Callable[[AsyncSession], Awaitable[Any]],
    second: Callable[[AsyncSession], Awaitable[Any]],
) -> BaseException | None:
    """Run `first` (uncommitted), start `second`, let it wait, commit `first`."""
    engine = app.state.db.engine
    async with AsyncSession(engine) as one, AsyncSession(engine) as two:
        audit.act_as(one, TEST_ACTOR)
        audit.act_as(two, TEST_ACTOR)
        await first(one)

        async def run_second() -> None:
            try:
                await second(two)
                await two.commit()
            except BaseException:
                await two.rollback()
                raise

        task = asyncio.create_task(run_second())
        await blocked_on_a_lock(db)
        await one.commit()
        results = await asyncio.gather(task, return_exceptions=True)
    outcome = results[0]
    return outcome if isinstance(outcome, BaseException) else None


class TestRaces:
    @pytest.mark.parametrize(
        ("second", "field"),
        [
            ({"slug": "acme", "ts_token": "tok-2"}, "slug"),
            ({"slug": "acme-2", "ts_token": "tok-1"}, "ts_token"),
            ({"slug": "acme-2", "ts_token": "tok-2", "tlm_token": "tlm-1"}, "tlm_token"),
        ],
    )
    async def test_two_creations(self, app, db, second, field):
        async def create_first(session: AsyncSession) -> None:
            await service.create_tenant(
                session, name="Acme", slug="acme", ts_token="tok-1", tlm_token="tlm-1"
            )

        async def create_second(session: AsyncSession) -> None:
            await service.create_tenant(session, name="Acme 2", **second)

        error = await race(app, db, create_first, create_second)
        assert isinstance(error, Conflict)
        assert error.status_code == 409
        assert error.field == field
        assert "already used" in error.message
        assert await db.fetchval("SELECT count(*) FROM tenant WHERE NOT is_default") == 1

    async def test_renaming_onto_a_new_partner(self, app, db):
        async with AsyncSession(app.state.db.engine) as session:
            audit.act_as(session, TEST_ACTOR)
            other = (await service.create_tenant(session, name="Other", slug="other")).tenant.id
            await session.commit()

        async def create_first(session: AsyncSession) -> None:
            await service.create_tenant(session, name="Acme", slug="acme")

        async def rename_second(session: AsyncSession) -> None:
            await service.update_tenant(session, other, {"slug": "acme"})

        error = await race(app, db, create_first, rename_second)
        assert isinstance(error, Conflict)
        assert error.field == "slug"
        assert await db.fetchval("SELECT slug FROM tenant WHERE id = $1", other) == "other"
