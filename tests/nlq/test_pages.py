"""The /ask page over HTTP: signing in (admin token, partner API key, the admin's session),
CSRF, and `POST /ask/answer` answering exactly like `POST /api/nlq` for the same asker."""

from __future__ import annotations

import re

import asyncpg
import httpx
import pytest

from postback.app import PostbackApp
from postback.security import hash_secret
from tests.admin.conftest import sign_in as admin_sign_in
from tests.fixtures import ADMIN_TOKEN
from tests.nlq.safety import seed_two_partners

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
QUESTION = "conversions by offer in the last 7 days"
BY_PARTNER = "conversions by partner in the last 7 days"


@pytest.fixture(autouse=True)
async def fresh_throttle(app: PostbackApp) -> None:
    await app.state.sign_in_throttle.reset()


async def sign_in(client: httpx.AsyncClient, token: str) -> httpx.Response:
    page = await client.get("/ask")
    found = CSRF_INPUT.search(page.text)
    assert found, page.text
    return await client.post("/ask/login", data={"csrf_token": found.group(1), "token": token})


async def page_csrf(client: httpx.AsyncClient) -> str:
    page = await client.get("/ask")
    assert page.status_code == 200
    found = CSRF_META.search(page.text)
    assert found, "not signed in"
    return found.group(1)


async def ask(client: httpx.AsyncClient, question: str, csrf: str) -> httpx.Response:
    return await client.post(
        "/ask/answer", json={"question": question}, headers={"X-CSRF-Token": csrf}
    )


async def test_sign_in_page_first(client: httpx.AsyncClient) -> None:
    page = await client.get("/ask", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert page.status_code == 200
    assert "登录后提问" in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert page.headers["cache-control"] == "no-store"
    english = await client.get("/ask?lang=en")
    assert "Sign in to ask" in english.text


async def give_key(db: asyncpg.Connection, tenant_id: int, key: str) -> None:
    await db.execute(
        "UPDATE tenant SET api_key_hash = $1 WHERE id = $2", hash_secret(key), tenant_id
    )


async def api(client: httpx.AsyncClient, question: str, token: str) -> httpx.Response:
    return await client.post(
        "/api/nlq", json={"question": question}, headers={"Authorization": f"Bearer {token}"}
    )


def without_timing(answer: dict[str, object]) -> dict[str, object]:
    """The answer without what differs between two askings: the time taken and the
    conversation (each asking starts its own)."""
    assert answer["conversation"]
    return {k: v for k, v in answer.items() if k not in ("elapsed_ms", "conversation")}


async def test_admin_sees_every_partner_as_in_the_api(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await seed_two_partners(db)
    signed = await sign_in(client, ADMIN_TOKEN)
    assert signed.status_code == 303
    assert signed.headers["location"] == "/ask"
    csrf = await page_csrf(client)
    assert "Admin: all partners" in (await client.get("/ask?lang=en")).text
    from_page = await ask(client, BY_PARTNER, csrf)
    assert from_page.status_code == 200, from_page.text
    assert {row[0] for row in from_page.json()["rows"]} == {"mine", "other"}
    from_api = await api(client, BY_PARTNER, ADMIN_TOKEN)
    assert without_timing(from_page.json()) == without_timing(from_api.json())


async def test_partner_key_sees_only_its_own(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    partners = await seed_two_partners(db)
    await give_key(db, partners.mine, "pk_mine_key_for_tests_0123456789")
    signed = await sign_in(client, "pk_mine_key_for_tests_0123456789")
    assert signed.status_code == 303
    csrf = await page_csrf(client)
    page = (await client.get("/ask?lang=en")).text
    assert "Partner: Mine Media" in page
    assert 'href="/admin"' not in page
    from_page = await ask(client, BY_PARTNER, csrf)
    assert from_page.status_code == 200, from_page.text
    assert {row[0] for row in from_page.json()["rows"]} == {"mine"}
    from_api = await api(client, BY_PARTNER, "pk_mine_key_for_tests_0123456789")
    assert without_timing(from_page.json()) == without_timing(from_api.json())
    # The other partner's name means nothing to this one: refused, as any unknown word.
    other = await ask(client, "conversions of partner other in the last 7 days", csrf)
    assert other.status_code == 422
    assert "Other Ads" not in other.text


async def test_partner_session_ends_with_its_key_or_when_disabled(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    partners = await seed_two_partners(db)
    await give_key(db, partners.mine, "pk_first_key_0123456789abcdef")
    assert (await sign_in(client, "pk_first_key_0123456789abcdef")).status_code == 303
    csrf = await page_csrf(client)
    assert (await ask(client, BY_PARTNER, csrf)).status_code == 200
    await give_key(db, partners.mine, "pk_rotated_key_0123456789abcdef")
    assert (await ask(client, BY_PARTNER, csrf)).status_code == 401
    assert CSRF_META.search((await client.get("/ask")).text) is None

    assert (await sign_in(client, "pk_rotated_key_0123456789abcdef")).status_code == 303
    csrf = await page_csrf(client)
    await db.execute("UPDATE tenant SET enabled = false WHERE id = $1", partners.mine)
    assert (await ask(client, BY_PARTNER, csrf)).status_code == 401
    refused = await sign_in(client, "pk_rotated_key_0123456789abcdef")
    assert refused.status_code == 403


async def test_csrf_is_required(client: httpx.AsyncClient) -> None:
    assert (await sign_in(client, ADMIN_TOKEN)).status_code == 303
    await page_csrf(client)
    missing = await client.post("/ask/answer", json={"question": QUESTION})
    assert missing.status_code == 403
    wrong = await ask(client, QUESTION, "not-the-token")
    assert wrong.status_code == 403
    assert wrong.json()["errors"][0]["field"] == "csrf"


async def test_not_signed_in_cannot_ask(client: httpx.AsyncClient) -> None:
    page = await client.get("/ask")
    csrf = CSRF_INPUT.search(page.text)
    assert csrf
    response = await ask(client, QUESTION, csrf.group(1))
    assert response.status_code == 401


async def test_wrong_token(client: httpx.AsyncClient) -> None:
    response = await sign_in(client, "nope")
    assert response.status_code == 401
    assert "This token is not valid." in response.text or "令牌无效" in response.text


async def test_empty_question_names_the_field(client: httpx.AsyncClient) -> None:
    assert (await sign_in(client, ADMIN_TOKEN)).status_code == 303
    csrf = await page_csrf(client)
    response = await ask(client, "   ", csrf)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "question"
    garbage = await client.post("/ask/answer", content=b"{not json", headers={"X-CSRF-Token": csrf})
    assert garbage.status_code == 422


async def test_cannot_answer_gives_suggestions(client: httpx.AsyncClient) -> None:
    assert (await sign_in(client, ADMIN_TOKEN)).status_code == 303
    csrf = await page_csrf(client)
    response = await ask(client, "what is the weather on mars", csrf)
    assert response.status_code == 422
    body = response.json()
    assert body["errors"][0]["field"] == "question"
    assert body["suggestions"]


async def test_admin_session_carries_over(client: httpx.AsyncClient) -> None:
    not_yet = await client.get("/admin/ask")
    assert not_yet.status_code == 303
    assert not_yet.headers["location"] == "/admin/login?next=/admin/ask"
    signed = await admin_sign_in(client, next="/admin/ask")
    assert signed.status_code == 303
    assert signed.headers["location"] == "/admin/ask"
    handed = await client.get("/admin/ask")
    assert handed.status_code == 303
    assert handed.headers["location"] == "/ask"
    await page_csrf(client)


async def test_sign_out(client: httpx.AsyncClient) -> None:
    assert (await sign_in(client, ADMIN_TOKEN)).status_code == 303
    csrf = await page_csrf(client)
    out = await client.post("/ask/logout", data={"csrf_token": csrf})
    assert out.status_code == 303
    page = await client.get("/ask")
    assert CSRF_META.search(page.text) is None
    assert (await ask(client, QUESTION, csrf)).status_code in (401, 403)


async def test_linked_from_home_and_admin(client: httpx.AsyncClient) -> None:
    assert 'href="/ask"' in (await client.get("/")).text
    assert (await admin_sign_in(client)).status_code == 303
    assert 'href="/admin/ask"' in (await client.get("/admin")).text


async def test_the_page_follows_up_in_its_own_conversation(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    """The page sends the conversation back, like the API; another principal's is 404."""
    partners = await seed_two_partners(db)
    await give_key(db, partners.mine, "pk_follow_up_key_0123456789abcdef")
    api = await client.post(
        "/api/nlq",
        json={"question": "sales by partner"},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    admins = api.json()["conversation"]
    assert (await sign_in(client, "pk_follow_up_key_0123456789abcdef")).status_code == 303
    csrf = await page_csrf(client)
    first = await client.post(
        "/ask/answer", json={"question": "sales by offer"}, headers={"X-CSRF-Token": csrf}
    )
    assert first.status_code == 200, first.text
    follow = await client.post(
        "/ask/answer",
        json={"question": "只看 Shopee", "conversation": first.json()["conversation"]},
        headers={"X-CSRF-Token": csrf},
    )
    assert follow.status_code == 200, follow.text
    assert follow.json()["follow_up"] is True
    assert [row[1] for row in follow.json()["rows"]] == ["Shopee MY"]
    foreign = await client.post(
        "/ask/answer",
        json={"question": "按天呢", "conversation": admins},
        headers={"X-CSRF-Token": csrf},
    )
    assert foreign.status_code == 404
    assert foreign.json()["errors"][0]["field"] == "conversation"
