"""Typed FastAPI dependencies shared by the domains' routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
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


def single_values(request: Request) -> None:
    """Refuse a query parameter given more than once (it would otherwise keep the last value
    without a word), naming each."""
    names = [name for name, _ in request.query_params.multi_items()]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise RequestValidationError(
            [
                {"loc": ("query", name), "msg": "is given more than once", "type": "repeated"}
                for name in repeated
            ]
        )


SingleValues = Depends(single_values)


def known_query_only(request: Request) -> None:
    """Refuse a query parameter the route does not take, naming each (a misspelt filter
    must not silently widen an answer)."""
    dependant = getattr(request.scope.get("route"), "dependant", None)
    if dependant is None:
        return
    known: set[str] = set()
    pending = [dependant]
    while pending:
        current = pending.pop()
        known.update(param.alias for param in current.query_params)
        pending.extend(current.dependencies)
    unknown = sorted({name for name in request.query_params if name not in known})
    if unknown:
        expected = ", ".join(sorted(known))
        raise RequestValidationError(
            [
                {"loc": ("query", name), "msg": f"is not a parameter here ({expected})"}
                for name in unknown
            ]
        )


StrictQuery = Depends(known_query_only)
