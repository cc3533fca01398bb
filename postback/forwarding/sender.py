"""One attempt of an outgoing postback: checked target, bounded time, bounded answer.

The host is resolved and checked (targets.py) before each request, and the request goes to
the address that was checked, with the host name kept for the Host header and TLS (SNI and
certificate checks): a DNS answer that changes between check and connect cannot redirect it.
Redirects are followed only to targets that pass the same check, at most MAX_REDIRECTS.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urljoin

import aiohttp
from standardwebhooks.webhooks import Webhook
from yarl import URL

from postback import __version__
from postback.forwarding import targets
from postback.forwarding.macros import masked

MAX_REDIRECTS = 3
EXCERPT_BYTES = 512
DELIVERY_HEADER = "X-Postback-Delivery-Id"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A filled request: the URL with its macros, the method, and the JSON body of a POST."""

    url: str
    method: str
    delivery_id: str
    body: bytes | None = None
    signing_secret: str | None = None


@dataclass(frozen=True, slots=True)
class AttemptResult:
    url: str  # as shown and kept: secrets masked
    started_at: datetime
    latency_ms: float
    status_code: int | None = None
    error: str | None = None
    excerpt: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.status_code is not None and 200 <= self.status_code < 300


@dataclass(slots=True)
class _Hop:
    url: str
    method: str
    body: bytes | None
    headers: dict[str, str] = field(default_factory=dict)


def signature_headers(outgoing: Outgoing, now: datetime) -> dict[str, str]:
    """Standard Webhooks headers: the id, the time, and HMAC-SHA256 over id.time.body."""
    if outgoing.signing_secret is None or outgoing.body is None:
        return {}
    signature = Webhook(outgoing.signing_secret).sign(
        outgoing.delivery_id, now, outgoing.body.decode()
    )
    return {
        "webhook-id": outgoing.delivery_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }


class Sender:
    """Sends attempts through one pooled HTTP client; `close()` when done.

    aiohttp rather than httpx: at 16 requests in flight to a receiver on the same machine,
    httpx (0.28, httpcore 1.0) took 12-15 times aiohttp's CPU per request
    (`python -m postback_bench.forward_clients`), and the worker shares its process with the
    receiving path."""

    def __init__(self, *, timeout: float, allow_private: bool) -> None:
        self.timeout = timeout
        self.allow_private = allow_private
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                headers={"User-Agent": f"Postback/{__version__}"},
                connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=10),
                trust_env=False,
                auto_decompress=True,
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(self, outgoing: Outgoing) -> AttemptResult:
        started_at = datetime.now(UTC)
        started = time.perf_counter()
        status: int | None = None
        excerpt: str | None = None
        error: str | None = None
        try:
            async with asyncio.timeout(self.timeout):
                status, excerpt, error = await self._follow(outgoing, started_at)
        except TimeoutError:
            error = f"no answer within {self.timeout:g} s"
        except targets.TargetRefused as exc:
            error = f"refused: {exc}"
        except (aiohttp.ClientError, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        latency = (time.perf_counter() - started) * 1000
        return AttemptResult(masked(outgoing.url), started_at, latency, status, error, excerpt)

    async def _follow(
        self, outgoing: Outgoing, now: datetime
    ) -> tuple[int, str | None, str | None]:
        headers = {DELIVERY_HEADER: outgoing.delivery_id, **signature_headers(outgoing, now)}
        if outgoing.body is not None:
            headers["Content-Type"] = "application/json"
        hop = _Hop(outgoing.url, outgoing.method, outgoing.body, headers)
        for _ in range(MAX_REDIRECTS + 1):
            status, excerpt, location = await self._request(hop)
            if location is None:
                return status, excerpt, None
            if status == 303 or (status in (301, 302) and hop.method == "POST"):
                hop = _Hop(urljoin(hop.url, location), "GET", None, dict(headers))
                hop.headers.pop("Content-Type", None)
            else:
                hop = _Hop(urljoin(hop.url, location), hop.method, hop.body, headers)
        return status, excerpt, f"more than {MAX_REDIRECTS} redirects"

    async def _request(self, hop: _Hop) -> tuple[int, str | None, str | None]:
        """The status, the first bytes of the answer, and where a redirect points."""
        target = await targets.check(hop.url, allow_private=self.allow_private)
        url = URL(hop.url, encoded=True)
        headers = dict(hop.headers)
        server_hostname: str | None = None
        if target.address is not None:
            headers["Host"] = url.raw_authority.rpartition("@")[2]
            if url.scheme == "https":
                server_hostname = target.host
            url = url.with_host(target.address)
        async with self._client().request(
            hop.method,
            url,
            data=hop.body,
            headers=headers,
            allow_redirects=False,
            server_hostname=server_hostname,
        ) as response:
            taken = await response.content.read(EXCERPT_BYTES)
            excerpt = taken.decode("utf-8", "replace") if taken else None
            location = response.headers.get("Location")
            if 300 <= response.status < 400 and location:
                return response.status, excerpt, location
            return response.status, excerpt, None
