"""Plain factory functions for tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from postback.app import PostbackApp
from postback.audit import service as audit
from postback.audit.schemas import Actor
from postback.tenants import service
from postback.tenants.service import CreatedTenant

# Who the factories' changes are recorded as (a change needs an actor: audit.service.act_as).
TEST_ACTOR = Actor("cli", "tests")


async def create_tenant(app: PostbackApp, slug: str = "acme", **fields: Any) -> CreatedTenant:
    """Create a partner through the service, committed, and make ingestion see it."""
    fields.setdefault("name", slug.title())
    async with AsyncSession(app.state.db.engine, expire_on_commit=False) as session:
        audit.act_as(session, TEST_ACTOR)
        created = await service.create_tenant(session, slug=slug, **fields)
        await session.commit()
    await app.state.directory.reload()
    return created


def postback(conversion_id: str = "C-1", **fields: Any) -> dict[str, Any]:
    """Realistic Involve Asia parameters."""
    params: dict[str, Any] = {
        "conversion_id": conversion_id,
        "offer_id": "1001",
        "offer_name": "Shopee MY",
        "datetime_conversion": "2026-11-20 10:15:00",
        "order_id": f"ORD-{conversion_id}",
        "sale_amount_local": "120.50",
        "myr_sale_amount": "120.50",
        "usd_sale_amount": "27.10",
        "payout_local": "6.02",
        "myr_payout": "6.02",
        "usd_payout": "1.35",
        "conversion_currency": "MYR",
        "status": "pending",
        "aff_sub": "campaign-a",
    }
    params.update(fields)
    return {k: v for k, v in params.items() if v is not None}


def fill_macros(url: str, conversion_id: str, **fields: Any) -> str:
    """A postback URL with its `{macro}` placeholders filled as Involve Asia would fill them
    (realistic values from `postback()`, empty for the macros it has no value for)."""
    import re
    from urllib.parse import quote

    values = postback(conversion_id, **fields)
    return re.sub(r"\{(\w+)\}", lambda m: quote(str(values.get(m.group(1), "")), safe=""), url)


async def create_user(
    app: PostbackApp,
    email: str,
    role: str = "analyst",
    *,
    partner: str | None = None,
    password: str = "correct horse battery",
    name: str | None = None,
) -> int:
    """Create a user through the accounts service, committed; its id."""
    from postback.accounts import service as accounts
    from postback.accounts.models import Role
    from postback.accounts.schemas import UserCreate
    from postback.auth import ADMIN

    data = UserCreate(
        email=email, role=Role(role), partner=partner, password=password, display_name=name
    )
    async with AsyncSession(app.state.db.engine, expire_on_commit=False) as session:
        audit.act_as(session, TEST_ACTOR)
        created = await accounts.create_user(session, ADMIN, data)
        await session.commit()
    return created.id
