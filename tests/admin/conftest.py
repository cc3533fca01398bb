"""Signing in to the admin pages from tests."""

from __future__ import annotations

import re

import httpx
import pytest

from postback.app import PostbackApp
from tests.fixtures import ADMIN_TOKEN

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_in(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


async def csrf_of(client: httpx.AsyncClient, path: str) -> str:
    page = await client.get(path)
    assert page.status_code in (200, 201), (path, page.status_code)
    return csrf_in(page.text)


async def sign_in(
    client: httpx.AsyncClient, token: str = ADMIN_TOKEN, **fields: str
) -> httpx.Response:
    csrf = await csrf_of(client, "/admin/login")
    return await client.post("/admin/login", data={"csrf_token": csrf, "token": token, **fields})


@pytest.fixture(autouse=True)
async def fresh_throttle(app: PostbackApp) -> None:
    """Failed sign-ins of one test do not throttle the next."""
    await app.state.sign_in_throttle.reset()


@pytest.fixture
async def admin(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """The test client, signed in to the admin pages."""
    response = await sign_in(client)
    assert response.status_code == 303, response.text
    return client
