"""What the reports tests share: partners with real postbacks, asking, saving, scheduling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from postback.nlq import service as nlq
from tests.factories import create_tenant, postback

KL = ZoneInfo("Asia/Kuala_Lumpur")
# Two days ago: inside "the last 7 days" and "the last 30 days" whatever the hour.
WHEN = (datetime.now(UTC) - timedelta(days=2)).astimezone(KL).strftime("%Y-%m-%d %H:%M:%S")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def send(client: httpx.AsyncClient, conversion_id: str, **fields: Any) -> None:
    fields.setdefault("datetime_conversion", WHEN)
    response = await client.get("/postback/", params=postback(conversion_id, **fields))
    assert response.status_code == 200, response.text


async def two_partners(app: Any, client: httpx.AsyncClient) -> dict[str, str]:
    """acme sells Shopee MY (payouts 5.01 and 10.02) and Lazada MY (2.50); bravo sells
    only "Bravo Exclusive" (777.77). Their API keys by slug."""
    nlq.forget_vocabulary()
    acme = await create_tenant(app, "acme", name="Acme Media", ts_token="tok-acme")
    bravo = await create_tenant(app, "bravo", name="Bravo Deals", ts_token="tok-bravo")
    await send(client, "A-1", ts_token="tok-acme", myr_payout="5.01")
    await send(client, "A-2", ts_token="tok-acme", myr_payout="10.02")
    await send(
        client,
        "A-3",
        ts_token="tok-acme",
        offer_id="2001",
        offer_name="Lazada MY",
        myr_payout="2.50",
    )
    await send(
        client,
        "B-1",
        ts_token="tok-bravo",
        offer_id="9001",
        offer_name="Bravo Exclusive",
        myr_payout="777.77",
    )
    return {"acme": acme.secrets["api_key"], "bravo": bravo.secrets["api_key"]}


async def ask(client: httpx.AsyncClient, headers: dict[str, str], question: str) -> dict[str, Any]:
    response = await client.post("/api/nlq", json={"question": question}, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def save(
    client: httpx.AsyncClient, headers: dict[str, str], question: str, title: str
) -> dict[str, Any]:
    """Ask `question`, then save its conversation under `title`."""
    asked = await ask(client, headers, question)
    response = await client.post(
        "/api/saved-questions",
        json={"conversation": asked["conversation"], "title": title},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def add_channel(
    client: httpx.AsyncClient, admin_headers: dict[str, str], **fields: Any
) -> dict[str, Any]:
    answer = await client.post("/api/alert-channels", json=fields, headers=admin_headers)
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def schedule(
    client: httpx.AsyncClient, headers: dict[str, str], question_id: int, **fields: Any
) -> httpx.Response:
    return await client.post(
        f"/api/saved-questions/{question_id}/reports", json=fields, headers=headers
    )


def payouts_by_offer(answer: dict[str, Any]) -> dict[str, str]:
    """{offer name: payout} from an answer whose rows are (offer id, offer name, …, payout)."""
    name = answer["columns"].index("offer_name")
    payout = next(i for i, c in enumerate(answer["columns"]) if "payout" in c)
    return {row[name]: row[payout] for row in answer["rows"]}
