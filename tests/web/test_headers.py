"""Security headers: every HTML page forbids framing and loads nothing from another site;
every other answer is at least nosniff. (tests/web/test_browser.py proves in Chromium that
the pages still work under their policy: a blocked load is a console error there.)"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse, PlainTextResponse
from starlette.routing import Route

from postback.web.headers import SecurityHeaders, content_security_policy, inline_hashes
from tests.admin.conftest import sign_in

HTML_PAGES = ["/", "/docs", "/redoc", "/admin/login"]
# Sources a policy of this app may name: its own origin, hashes of its own inline blocks,
# data:/blob: (made in the page itself) and, for styles only, inline.
LOCAL_SOURCE = re.compile(r"'self'|'none'|'sha256-[A-Za-z0-9+/=]+'|data:|blob:")


def directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for part in policy.split(";"):
        name, *sources = part.split()
        assert name not in parsed, f"{name} twice in {policy!r}"
        parsed[name] = sources
    return parsed


class TestHtmlPages:
    @pytest.mark.parametrize("path", HTML_PAGES)
    async def test_frame_denial_and_nosniff(self, client, path):
        response = await client.get(path)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"
        policy = directives(response.headers["content-security-policy"])
        assert policy["frame-ancestors"] == ["'none'"]
        assert policy["default-src"] == ["'self'"]
        assert policy["object-src"] == ["'none'"]
        assert policy["base-uri"] == ["'none'"]

    @pytest.mark.parametrize("path", HTML_PAGES)
    async def test_no_external_source(self, client, path):
        policy = directives((await client.get(path)).headers["content-security-policy"])
        for name, sources in policy.items():
            for source in sources:
                if name == "style-src" and source == "'unsafe-inline'":
                    continue  # ReDoc writes its styles at run time; styles run no code
                assert LOCAL_SOURCE.fullmatch(source), f"{name} allows {source}"
        for name in ("script-src", "default-src"):
            assert "'unsafe-inline'" not in policy.get(name, [])
            assert "'unsafe-eval'" not in policy.get(name, [])

    async def test_swagger_ui_runs_only_its_own_inline_script(self, client):
        response = await client.get("/docs")
        policy = directives(response.headers["content-security-policy"])
        (inline,) = [s for s in policy["script-src"] if s.startswith("'sha256-")]
        assert inline == inline_hashes(response.text, "script")

    async def test_admin_pages_share_the_policy(self, client):
        signed_in = await sign_in(client)
        assert signed_in.status_code == 303
        response = await client.get("/admin")
        assert response.status_code == 200
        home = await client.get("/")
        strict = directives(content_security_policy())
        assert directives(response.headers["content-security-policy"]) == strict
        # The home page adds only the hash of its own <style> block.
        home_policy = directives(home.headers["content-security-policy"])
        assert {k: v for k, v in home_policy.items() if k != "style-src"} == strict
        assert home_policy["style-src"] == ["'self'", inline_hashes(home.text, "style")]


class TestOtherAnswers:
    @pytest.mark.parametrize("path", ["/health", "/info", "/openapi.json", "/metrics"])
    async def test_nosniff(self, client, path):
        response = await client.get(path)
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "x-frame-options" not in response.headers

    async def test_api_answers_and_errors(self, client, admin_headers):
        for response in (
            await client.get("/postback/stats", headers=admin_headers),
            await client.get("/postback/stats"),
            await client.get("/api/tenants/0", headers=admin_headers),
            await client.get("/no/such/page"),
        ):
            assert response.headers["content-type"] == "application/json"
            assert response.headers["x-content-type-options"] == "nosniff"

    async def test_static_files(self, client):
        response = await client.get("/static/vendor/swagger-ui/swagger-ui.css")
        assert response.headers["x-content-type-options"] == "nosniff"


class TestMiddleware:
    """The middleware adds what an answer lacks and never replaces what it set."""

    @pytest.fixture
    async def http(self) -> AsyncIterator[httpx.AsyncClient]:
        async def page(_: object) -> HTMLResponse:
            return HTMLResponse("<p>hi</p>")

        async def own_policy(_: object) -> HTMLResponse:
            return HTMLResponse(
                "<p>hi</p>",
                headers={"Content-Security-Policy": "default-src 'none'", "Referrer-Policy": "x"},
            )

        async def text(_: object) -> PlainTextResponse:
            return PlainTextResponse("hi")

        app = Starlette(
            routes=[Route("/page", page), Route("/own", own_policy), Route("/text", text)]
        )
        transport = httpx.ASGITransport(app=SecurityHeaders(app))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http

    async def test_adds_page_headers(self, http):
        response = await http.get("/page")
        assert response.headers["content-security-policy"] == content_security_policy()
        assert response.headers["x-frame-options"] == "DENY"

    async def test_keeps_a_page_own_headers(self, http):
        response = await http.get("/own")
        assert response.headers.get_list("content-security-policy") == ["default-src 'none'"]
        assert response.headers.get_list("referrer-policy") == ["x"]
        assert response.headers["x-frame-options"] == "DENY"

    async def test_other_content_gets_nosniff_only(self, http):
        response = await http.get("/text")
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "content-security-policy" not in response.headers
