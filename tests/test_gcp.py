"""The metadata-server token for Vertex AI (postback/gcp.py), against a local HTTP server
standing in for Google's metadata server: the one stand-in here, because that server exists
only inside Google Cloud. It answers as the real one does (documented request and JSON)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from postback import gcp
from postback.nlq import llm
from tests.nlq.fake_llm import FakeLlm, fake_llm, fake_llm_server
from tests.nlq.test_llm import ask, llm_settings

__all__ = ["fake_llm", "fake_llm_server"]


@dataclass
class Metadata:
    host: str = ""
    lifetime: int = 3599
    issued: list[str] = field(default_factory=list)
    refuse: bool = False


@pytest.fixture
async def metadata(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Metadata]:
    state = Metadata()

    async def token(request: web.Request) -> web.Response:
        if request.headers.get("Metadata-Flavor") != "Google":
            return web.Response(status=403, text="Missing Metadata-Flavor:Google header.")
        if state.refuse:
            return web.Response(status=500)
        value = f"ya29.token-{len(state.issued) + 1}"
        state.issued.append(value)
        return web.json_response(
            {"access_token": value, "expires_in": state.lifetime, "token_type": "Bearer"}
        )

    application = web.Application()
    application.router.add_get(gcp.TOKEN_PATH, token)
    runner = web.AppRunner(application)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    state.host = f"127.0.0.1:{port}"
    monkeypatch.setenv("GCE_METADATA_HOST", state.host)
    monkeypatch.setattr(gcp, "_tokens", {})
    try:
        yield state
    finally:
        await runner.cleanup()


async def test_vertex_ai_is_asked_with_the_service_accounts_token(
    metadata: Metadata, fake_llm: FakeLlm
) -> None:
    fake_llm.reply_with("SELECT 1", "SELECT 2")
    settings = llm_settings(fake_llm.url, NLQ_LLM_AUTH="google", NLQ_LLM_API_KEY="unused")
    await ask(settings)
    await ask(settings)
    assert metadata.issued == ["ya29.token-1"], "a valid token is reused"
    assert [h["authorization"] for h in fake_llm.headers] == ["Bearer ya29.token-1"] * 2


async def test_a_token_near_its_end_is_renewed(metadata: Metadata) -> None:
    metadata.lifetime = 0
    token = gcp.MetadataToken(metadata.host)
    assert await token.get() == "ya29.token-1"
    assert await token.get() == "ya29.token-2"


async def test_no_token_means_the_llm_is_unavailable(metadata: Metadata, fake_llm: FakeLlm) -> None:
    metadata.refuse = True
    with pytest.raises(llm.LlmUnavailable, match="metadata server answered HTTP 500"):
        await ask(llm_settings(fake_llm.url, NLQ_LLM_AUTH="google"))
    assert fake_llm.requests == []
