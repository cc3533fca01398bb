"""Signing in with an OpenID Connect provider (Google Workspace, or any other): the
authorization-code flow with PKCE (S256), spoken to the provider over httpx, and the
id_token's signature and claims checked with joserfc.

The provider's discovery document and its JWKS are fetched once and kept (the JWKS is fetched
again once when an id_token names a key it does not hold: the provider rotated its keys).
Every failure is an `OidcFailure` naming what went wrong, for the sign-in page to show; no
answer of the provider can make a 500.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
from dataclasses import dataclass
from enum import Enum
from typing import Any
from urllib.parse import urlencode

import httpx
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry

from postback.settings import Settings

DISCOVERY_PATH = "/.well-known/openid-configuration"
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"]
LEEWAY_SECONDS = 120
SCOPES = "openid email profile"
# Google's id_tokens may name their issuer without the scheme.
ISSUER_ALIASES = {"https://accounts.google.com": ("accounts.google.com",)}


class OidcFailure(Enum):
    """Why a sign-in with the provider did not give a verified identity (a label key)."""

    UNREACHABLE = "oidc_unreachable"  # the provider did not answer, or answered nonsense
    BAD_STATE = "oidc_bad_state"  # the answer is not for a sign-in this browser started
    DENIED = "oidc_denied"  # the provider (or the person) declined
    BAD_TOKEN = "oidc_bad_token"  # noqa: S105 (a label key) the id_token is forged, expired or for someone else
    UNVERIFIED = "oidc_unverified"  # the provider has not verified the email
    DOMAIN = "oidc_domain_not_allowed"  # the email's domain is not an allowed one


class OidcError(Exception):
    def __init__(self, failure: OidcFailure, detail: str = "") -> None:
        super().__init__(detail or failure.value)
        self.failure = failure


@dataclass(frozen=True, slots=True)
class Provider:
    """The endpoints the discovery document names."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


@dataclass(frozen=True, slots=True)
class Flow:
    """What a started sign-in keeps until the provider sends the browser back."""

    state: str
    nonce: str
    verifier: str

    @classmethod
    def new(cls) -> Flow:
        return cls(secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(48))

    @property
    def challenge(self) -> str:
        digest = hashlib.sha256(self.verifier.encode()).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")


@dataclass(frozen=True, slots=True)
class VerifiedIdentity:
    """Who the provider vouches for: its issuer and subject, and the verified email."""

    issuer: str
    subject: str
    email: str
    name: str | None


class OidcClient:
    """One provider, as configured by the POSTBACK_OIDC_* settings."""

    def __init__(self, settings: Settings) -> None:
        assert settings.oidc_issuer is not None
        assert settings.oidc_client_id is not None
        assert settings.oidc_client_secret is not None
        self.issuer = settings.oidc_issuer
        self.client_id = settings.oidc_client_id
        self.client_secret = settings.oidc_client_secret.get_secret_value()
        self.domains = settings.oidc_domains
        self.timeout = settings.oidc_timeout
        self._provider: Provider | None = None
        self._keys: KeySet | None = None
        self._lock = asyncio.Lock()

    # --- Talking to the provider --------------------------------------------------------

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as http:
                answer = await http.get(url, headers={"accept": "application/json"})
            answer.raise_for_status()
            body = answer.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise OidcError(OidcFailure.UNREACHABLE, f"{url}: {exc}") from exc
        if not isinstance(body, dict):
            raise OidcError(OidcFailure.UNREACHABLE, f"{url}: not a JSON object")
        return body

    async def provider(self) -> Provider:
        """The discovery document's endpoints (fetched once; its issuer must be ours)."""
        if self._provider is not None:
            return self._provider
        found = await self._get_json(self.issuer + DISCOVERY_PATH)
        names = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
        values = [found.get(name) for name in names]
        if not all(isinstance(v, str) and v for v in values) or found["issuer"] != self.issuer:
            raise OidcError(OidcFailure.UNREACHABLE, "the discovery document does not fit")
        self._provider = Provider(*(str(v) for v in values))
        return self._provider

    async def _key_set(self, refresh: bool = False) -> KeySet:
        async with self._lock:
            if self._keys is None or refresh:
                document = await self._get_json((await self.provider()).jwks_uri)
                try:
                    self._keys = KeySet.import_key_set(document)  # type: ignore[arg-type]
                except (JoseError, ValueError, KeyError, TypeError) as exc:
                    raise OidcError(OidcFailure.UNREACHABLE, f"the JWKS: {exc}") from exc
            return self._keys

    async def authorization_url(self, flow: Flow, redirect_uri: str) -> str:
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": redirect_uri,
            "scope": SCOPES,
            "state": flow.state,
            "nonce": flow.nonce,
            "code_challenge": flow.challenge,
            "code_challenge_method": "S256",
            "prompt": "select_account",
        }
        if len(self.domains) == 1:
            query["hd"] = self.domains[0]  # Google: offer only that Workspace's accounts
        endpoint = (await self.provider()).authorization_endpoint
        return endpoint + ("&" if "?" in endpoint else "?") + urlencode(query)

    async def exchange(self, code: str, flow: Flow, redirect_uri: str) -> str:
        """The id_token the token endpoint gives for the code."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "code_verifier": flow.verifier,
        }
        endpoint = (await self.provider()).token_endpoint
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as http:
                answer = await http.post(
                    endpoint, data=form, headers={"accept": "application/json"}
                )
            body = answer.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise OidcError(OidcFailure.UNREACHABLE, f"the token endpoint: {exc}") from exc
        if answer.status_code in (400, 401):
            raise OidcError(OidcFailure.DENIED, f"the token endpoint refused: {body}")
        token = body.get("id_token") if isinstance(body, dict) else None
        if answer.is_error or not isinstance(token, str):
            raise OidcError(OidcFailure.UNREACHABLE, f"the token endpoint: {answer.status_code}")
        return token

    # --- Checking the id_token ----------------------------------------------------------

    async def verify(self, id_token: str, flow: Flow) -> VerifiedIdentity:
        """The id_token's identity once its signature (the provider's JWKS), issuer,
        audience, times and nonce are right and its email is verified and allowed."""
        try:
            kid = jws.extract_compact(id_token.encode()).protected.get("kid")
        except (JoseError, ValueError) as exc:
            raise OidcError(OidcFailure.BAD_TOKEN, f"not a JWS: {exc}") from exc
        keys = await self._key_set()
        if kid is not None and kid not in {key.kid for key in keys.keys}:
            keys = await self._key_set(refresh=True)  # rotated since we fetched them
        try:
            token = jwt.decode(id_token, keys, algorithms=ALGORITHMS)
            self._registry(flow).validate(token.claims)
        except (JoseError, ValueError) as exc:
            raise OidcError(OidcFailure.BAD_TOKEN, str(exc)) from exc
        self._check_authorized_party(token.claims)
        return self._identity(token.claims)

    def _check_authorized_party(self, claims: dict[str, Any]) -> None:
        """OpenID Connect Core 3.1.3.7: a token for several audiences names the party it was
        issued to (`azp`), and an `azp` present must be this client."""
        audience, party = claims.get("aud"), claims.get("azp")
        several = isinstance(audience, list) and len(audience) > 1
        if (several and party is None) or (party is not None and party != self.client_id):
            raise OidcError(OidcFailure.BAD_TOKEN, f"authorized party {party!r}")

    def _registry(self, flow: Flow) -> JWTClaimsRegistry:
        issuers = [self.issuer, *ISSUER_ALIASES.get(self.issuer, ())]
        return JWTClaimsRegistry(
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "values": issuers},
            aud={"essential": True, "value": self.client_id},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
            nonce={"essential": True, "value": flow.nonce},
        )

    def _identity(self, claims: dict[str, Any]) -> VerifiedIdentity:
        email = claims.get("email")
        if (
            not isinstance(email, str)
            or "@" not in email
            or claims.get("email_verified") is not True
        ):
            raise OidcError(OidcFailure.UNVERIFIED)
        domain = email.rsplit("@", 1)[1].lower()
        hosted = claims.get("hd")
        if domain not in self.domains and not (isinstance(hosted, str) and hosted in self.domains):
            raise OidcError(OidcFailure.DOMAIN, domain)
        name = claims.get("name")
        return VerifiedIdentity(
            self.issuer, str(claims["sub"]), email, name if isinstance(name, str) else None
        )
