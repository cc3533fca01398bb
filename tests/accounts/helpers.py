"""Signing users in from tests, and calling the API with a browser session."""

from __future__ import annotations

import re

import httpx

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


async def sign_in(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD, area: str = "dashboard"
) -> httpx.Response:
    """Sign in with an email and a password at /dashboard (anyone) or /admin (admins)."""
    page = await client.get("/admin/login" if area == "admin" else "/dashboard")
    found = CSRF.search(page.text)
    assert found, page.text[:300]
    form = {"csrf_token": found[1], "email": email, "password": password}
    return await client.post(f"/{area}/login", data=form)


async def csrf_header(client: httpx.AsyncClient) -> dict[str, str]:
    """The session's CSRF token as the API wants it for changes (read from the /ask page)."""
    page = await client.get("/ask")
    found = CSRF_META.search(page.text)
    assert found, page.text[:300]
    return {"X-CSRF-Token": found[1]}
