"""A small but real OpenID Connect provider for the tests, served over HTTP on loopback: the
discovery document, a JWKS with a generated RSA key, /authorize (redirects straight back with a
code for the configured identity: nobody types a password here) and /token (checks the code,
the client secret, the redirect URI and the PKCE verifier, and answers with an RS256-signed
id_token). What an id_token says can be bent per test (`Identity`, `Mischief`) to check that
the service refuses it."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

import uvicorn
from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

CLIENT_ID = "postback-test-client.apps.example"
CLIENT_SECRET = "test-client-secret-9f8e7d"


@dataclass(frozen=True, slots=True)
class Identity:
    """The person signed in at the provider."""

    subject: str = "110248495921238986420"
    email: str = "ana@example.com"
    email_verified: bool = True
    name: str | None = "Ana Lim"
    hd: str | None = None


@dataclass(frozen=True, slots=True)
class Mischief:
    """Ways the id_token goes wrong: a nonce or an audience not the client's, a token for
    several audiences or authorized for another party, a broken signature, a token signed
    by a key the JWKS does not publish."""

    nonce: str | None = None
    audience: str | None = None
    also_for: str | None = None  # a second audience beside the client
    azp: str | None = None  # the authorized party claim, when set
    tamper: bool = False
    foreign_key: bool = False


@dataclass(slots=True)
class Grant:
    client_id: str
    redirect_uri: str
    nonce: str
    challenge: str


@dataclass(slots=True)
class Provider:
    port: int = 0
    identity: Identity = field(default_factory=Identity)
    mischief: Mischief = field(default_factory=Mischief)
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, {"kid": "k1"}))
    grants: dict[str, Grant] = field(default_factory=dict)
    token_requests: int = 0
    jwks_requests: int = 0
    server: uvicorn.Server | None = None
    task: asyncio.Task[None] | None = None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reset(self) -> None:
        self.identity, self.mischief = Identity(), Mischief()
        self.grants.clear()

    def rotate_key(self, kid: str) -> None:
        self.key = RSAKey.generate_key(2048, {"kid": kid})

    def sign_in_as(self, **changes: Any) -> None:
        self.identity = replace(Identity(), **changes)

    # --- Endpoints ----------------------------------------------------------------------

    async def discovery(self, request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
            }
        )

    async def jwks(self, request: Request) -> Response:
        self.jwks_requests += 1
        return JSONResponse({"keys": [self.key.as_dict(private=False)]})

    async def authorize(self, request: Request) -> Response:
        query = request.query_params
        if (
            query.get("response_type") != "code"
            or query.get("client_id") != CLIENT_ID
            or query.get("code_challenge_method") != "S256"
            or "openid" not in (query.get("scope") or "").split()
        ):
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        code = secrets.token_urlsafe(16)
        self.grants[code] = Grant(
            CLIENT_ID, query["redirect_uri"], query.get("nonce", ""), query["code_challenge"]
        )
        back = {"code": code, "state": query.get("state", "")}
        return RedirectResponse(query["redirect_uri"] + "?" + urlencode(back), status_code=302)

    async def token(self, request: Request) -> Response:
        self.token_requests += 1
        form = await request.form()
        grant = self.grants.pop(str(form.get("code")), None)
        verifier = str(form.get("code_verifier", ""))
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        if (
            grant is None
            or form.get("grant_type") != "authorization_code"
            or form.get("client_id") != CLIENT_ID
            or form.get("client_secret") != CLIENT_SECRET
            or form.get("redirect_uri") != grant.redirect_uri
            or challenge.decode().rstrip("=") != grant.challenge
        ):
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        return JSONResponse(
            {"access_token": "at", "token_type": "Bearer", "id_token": self._id_token(grant)}
        )

    def _id_token(self, grant: Grant) -> str:
        now = int(time.time())
        who, bent = self.identity, self.mischief
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": bent.audience or grant.client_id,
            "sub": who.subject,
            "email": who.email,
            "email_verified": who.email_verified,
            "iat": now,
            "exp": now + 3600,
            "nonce": bent.nonce or grant.nonce,
        }
        if bent.also_for:
            claims["aud"] = [claims["aud"], bent.also_for]
        if bent.azp:
            claims["azp"] = bent.azp
        if who.name:
            claims["name"] = who.name
        if who.hd:
            claims["hd"] = who.hd
        key = RSAKey.generate_key(2048, {"kid": self.key.kid}) if bent.foreign_key else self.key
        token = jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)
        if bent.tamper:
            head, body, signature = token.split(".")
            flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
            token = f"{head}.{body}.{flipped}"
        return token

    # --- Serving ------------------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self.discovery),
                Route("/jwks", self.jwks),
                Route("/authorize", self.authorize),
                Route("/token", self.token, methods=["POST"]),
            ]
        )

    async def start(self, port: int) -> Provider:
        self.port = port
        config = uvicorn.Config(
            self.app(), host="127.0.0.1", port=port, lifespan="off", log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            await asyncio.sleep(0.02)
        return self

    async def stop(self) -> None:
        assert self.server is not None
        assert self.task is not None
        self.server.should_exit = True
        await self.task
