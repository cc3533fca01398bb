"""Typed FastAPI dependencies shared by the domains' routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from postback.settings import Settings


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request; it commits when the handler returns, rolls back on error."""
    async with AsyncSession(request.app.state.db.engine, expire_on_commit=False) as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


# scope="function": the commit happens before the response is sent, so a client that has
# its answer can rely on the change being there.
Session = Annotated[AsyncSession, Depends(get_session, scope="function")]
AppSettings = Annotated[Settings, Depends(get_app_settings)]
