"""Google Cloud credentials from the metadata server, for calls the service makes to Google
APIs from Cloud Run (Vertex AI's OpenAI-compatible endpoint): an OAuth access token of the
instance's service account, cached until shortly before it expires.

`GCE_METADATA_HOST` points elsewhere (the same variable Google's client libraries honour)."""

from __future__ import annotations

import asyncio
import os
import time

import httpx

DEFAULT_HOST = "metadata.google.internal"
TOKEN_PATH = "/computeMetadata/v1/instance/service-accounts/default/token"  # noqa: S105
# Renew this long before the token's end, so a request never carries one about to expire.
MARGIN_SECONDS = 300


class MetadataTokenError(RuntimeError):
    pass


class MetadataToken:
    def __init__(self, host: str | None = None, timeout: float = 5.0) -> None:
        self.host = host or os.environ.get("GCE_METADATA_HOST") or DEFAULT_HOST
        self.timeout = timeout
        self._token: str | None = None
        self._until = 0.0
        self._lock = asyncio.Lock()

    async def get(self) -> str:
        async with self._lock:
            if self._token is None or time.monotonic() >= self._until:
                self._token, lifetime = await self._fetch()
                self._until = time.monotonic() + max(lifetime - MARGIN_SECONDS, lifetime / 2)
            return self._token

    async def _fetch(self) -> tuple[str, float]:
        url = f"http://{self.host}{TOKEN_PATH}"
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.get(url, headers={"Metadata-Flavor": "Google"})
        except httpx.HTTPError as exc:
            raise MetadataTokenError(
                f"the metadata server ({self.host}) could not be reached: {type(exc).__name__}"
            ) from exc
        if response.status_code != 200:
            raise MetadataTokenError(f"the metadata server answered HTTP {response.status_code}")
        try:
            body = response.json()
            return str(body["access_token"]), float(body["expires_in"])
        except (ValueError, KeyError, TypeError) as exc:
            raise MetadataTokenError("the metadata server's answer has no access token") from exc


_tokens: dict[str, MetadataToken] = {}


def metadata_token() -> MetadataToken:
    """One cached token per metadata host, shared by the process."""
    host = os.environ.get("GCE_METADATA_HOST") or DEFAULT_HOST
    return _tokens.setdefault(host, MetadataToken(host))
