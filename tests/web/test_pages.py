"""The pages and service endpoints a person opens in a browser or a monitoring system scrapes.

No page may load anything from the internet: the docs must work offline."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.factories import create_tenant, postback
from tests.fixtures import ADMIN_TOKEN

EXTERNAL_URL = re.compile(r"https?://[^\s\"'<>]+", re.IGNORECASE)


class References(HTMLParser):
    """Every URL a page links to or loads."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.loads: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if tag == "a" and name == "href":
                self.links.append(value)
            elif name in ("src", "href", "spec-url"):
                self.loads.append(value)


def references(html: str) -> References:
    parser = References()
    parser.feed(html)
    return parser


def external_urls(html: str) -> list[str]:
    return [m.group(0) for m in EXTERNAL_URL.finditer(html)]


class TestHome:
    async def test_links_to_everything(self, client):
        response = await client.get("/")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        links = references(response.text).links
        for path in ("/docs", "/redoc", "/health", "/info"):
            assert path in links

    async def test_its_links_work(self, client):
        links = references((await client.get("/")).text).links
        for path in ("/docs", "/redoc", "/health", "/info", "/metrics"):
            assert path in links
            assert (await client.get(path)).status_code == 200, path

    async def test_shows_the_postback_url(self, client):
        response = await client.get("/")
        assert "http://testserver/postback/?conversion_id=" in response.text

    async def test_loads_nothing_from_the_internet(self, client):
        response = await client.get("/")
        assert external_urls(response.text.replace("http://testserver/", "/")) == []


class TestOfflineDocs:
    @pytest.mark.parametrize("path", ["/docs", "/redoc"])
    async def test_only_local_assets(self, client, path):
        response = await client.get(path)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert external_urls(response.text) == []
        loads = references(response.text).loads
        assert loads, "the page loads its viewer from somewhere"
        for url in loads:
            assert url == "/openapi.json" or url.startswith("/static/vendor/"), url

    @pytest.mark.parametrize(
        ("path", "content_type", "marker"),
        [
            ("/docs", "javascript", "SwaggerUIBundle"),
            ("/docs", "text/css", ".swagger-ui"),
            ("/redoc", "javascript", "redoc"),
        ],
    )
    async def test_assets_are_served(self, client, path, content_type, marker):
        page = (await client.get(path)).text
        assets = [u for u in references(page).loads if u.startswith("/static/vendor/")]
        (asset,) = [
            u for u in assets if u.endswith(".css" if content_type == "text/css" else ".js")
        ]
        response = await client.get(asset)
        assert response.status_code == 200, asset
        assert content_type in response.headers["content-type"]
        assert marker in response.text
        assert len(response.content) > 10_000  # the real bundle, not a stub

    async def test_favicon(self, client):
        page = (await client.get("/docs")).text
        (icon,) = [u for u in references(page).loads if u.endswith(".png")]
        response = await client.get(icon)
        assert response.status_code == 200
        assert response.headers["content-type"] == "image/png"
        assert response.content.startswith(b"\x89PNG")

    async def test_docs_page_reads_the_local_schema(self, client):
        assert "/openapi.json" in (await client.get("/docs")).text
        assert 'spec-url="/openapi.json"' in (await client.get("/redoc")).text

    async def test_missing_asset(self, client):
        response = await client.get("/static/vendor/nothing-here.js")
        assert response.status_code == 404


class TestOpenAPI:
    @pytest.fixture
    async def schema(self, client) -> dict:
        response = await client.get("/openapi.json")
        assert response.status_code == 200
        return response.json()

    async def test_postback_endpoint(self, schema):
        operations = schema["paths"]["/postback/"]
        assert set(operations) >= {"get", "post"}
        names = [p["name"] for p in operations["get"]["parameters"]]
        assert "conversion_id" in names
        assert "200" in operations["get"]["responses"]
        assert "422" in operations["post"]["responses"]

    @pytest.mark.parametrize(
        "path",
        [
            "/postback/conversions",
            "/postback/conversions/{conversion_pk}",
            "/postback/conversions/{conversion_pk}/history",
            "/postback/stats",
            "/dashboard/api/kpis",
        ],
    )
    async def test_reading_routes(self, schema, path):
        operation = schema["paths"][path]["get"]
        assert operation["summary"]
        assert "200" in operation["responses"]
        # Swagger UI can only send the token when the operation says it needs one.
        (requirement,) = operation["security"]
        (scheme_name,) = requirement
        scheme = schema["components"]["securitySchemes"][scheme_name]
        assert (scheme["type"], scheme["scheme"].lower()) == ("http", "bearer")

    async def test_filters_are_documented(self, schema):
        names = {p["name"] for p in schema["paths"]["/postback/conversions"]["get"]["parameters"]}
        expected = {"page", "page_size", "tenant", "offer_id", "status", "since", "until"}
        search = {"conversion_id", "order_id", "q", "min_sale", "max_sale", "min_payout"}
        search |= {"max_payout", *(f"aff_sub{n}" for n in ("", 2, 3, 4))}
        search |= {f"adv_sub{n}" for n in ("", 2, 3, 4, 5)}
        assert names >= expected | search | {"duplicates"}


class TestHealth:
    async def test_up(self, client):
        response = await client.get("/health")
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "ok"
        assert body["database"] == "up"


class TestInfo:
    async def test_version_uptime_and_rows(self, client, db):
        await client.get("/postback/", params=postback("I-1"))
        await client.get("/postback/", params=postback("I-2"))
        await client.get("/postback/", params={"usd_payout": "x"})  # refused: no conversion_id
        response = await client.get("/info")
        assert response.status_code == 200
        body = response.json()
        assert re.fullmatch(r"\d+\.\d+\.\d+.*", body["version"])
        assert body["uptime_seconds"] >= 0
        assert body["rows"]["conversion"]["rows"] == 2
        assert body["rows"]["rejection"]["rows"] == 1
        assert body["rows"]["tenant"]["rows"] == 1  # the default partner

    async def test_no_secrets(self, client, app, db, database_url):
        created = await create_tenant(app, "acme", ts_token="tok-acme-secret")
        response = await client.get("/info")
        assert response.status_code == 200
        text = response.text
        assert ADMIN_TOKEN not in text
        assert database_url not in text
        assert "tok-acme-secret" not in text
        assert created.secrets["api_key"] not in text
        assert "timezone" in response.json()["settings"]


class TestMetrics:
    @staticmethod
    async def accepted(client: httpx.AsyncClient) -> float:
        response = await client.get("/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        assert "postback_requests_total" in response.text
        for family in text_string_to_metric_families(response.text):
            for sample in family.samples:
                if sample.name == "postback_requests_total" and sample.labels == {
                    "outcome": "accepted"
                }:
                    return sample.value
        return 0.0

    async def test_counts_postbacks(self, client, db):
        before = await self.accepted(client)
        response = await client.get("/postback/", params=postback("M-1"))
        assert response.status_code == 200
        assert await self.accepted(client) == before + 1
