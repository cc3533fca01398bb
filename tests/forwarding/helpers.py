"""Shared steps of the forwarding tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import asyncpg
import httpx

from tests.factories import postback
from tests.fixtures import ADMIN_TOKEN

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


async def eventually(condition: Callable[[], Any], seconds: float = 20) -> Any:
    """Wait until `condition()` (sync or async) is truthy; its value."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        value = condition()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        assert asyncio.get_running_loop().time() < deadline, "timed out waiting"
        await asyncio.sleep(0.05)


async def add_forward(client: httpx.AsyncClient, tenant_id: int, **fields: Any) -> dict[str, Any]:
    response = await client.post(f"/api/tenants/{tenant_id}/forwards", json=fields, headers=ADMIN)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def send(client: httpx.AsyncClient, conversion_id: str, token: str, **fields: Any) -> int:
    response = await client.get(
        "/postback/", params=postback(conversion_id, ts_token=token, **fields)
    )
    assert response.status_code == 200, response.text
    return int(response.json()["id"])


async def states(db: asyncpg.Connection) -> dict[str, int]:
    rows = await db.fetch("SELECT state, count(*) AS n FROM delivery GROUP BY state")
    return {r["state"]: r["n"] for r in rows}


async def settled(db: asyncpg.Connection, expected: int) -> dict[str, int]:
    """Wait until `expected` deliveries exist and none is pending; their states."""

    async def done() -> dict[str, int] | None:
        found = await states(db)
        if sum(found.values()) >= expected and not found.get("pending"):
            return found
        return None

    result: dict[str, int] = await eventually(done)
    return result
