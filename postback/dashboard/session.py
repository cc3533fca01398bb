"""A partner's dashboard session: a signed cookie naming its tenant and its API key's digest.

The signing key is derived from the admin token (as for the admin session), so every instance
agrees on it. The digest is checked against the tenant on every request: rotating the API
key, or disabling the partner, signs its sessions out at once. The admin uses the admin
session (postback/admin/session.py) instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from postback.web.cookies import CSRF_FIELD, SignedCookie, csrf_matches, new_csrf

__all__ = ["CSRF_FIELD", "PartnerSession", "clear", "new_session", "read", "write"]

COOKIE_JAR = SignedCookie("postback_dashboard", path="/dashboard", purpose="dashboard")


@dataclass(frozen=True, slots=True)
class PartnerSession:
    csrf: str
    tenant_id: int | None  # None: not signed in yet (the session only carries a CSRF token)
    key_digest: str | None

    def csrf_matches(self, given: object) -> bool:
        return csrf_matches(self.csrf, given)


def new_session(tenant_id: int | None = None, key_digest: str | None = None) -> PartnerSession:
    return PartnerSession(new_csrf(), tenant_id, key_digest)


def read(request: Request) -> PartnerSession | None:
    data = COOKIE_JAR.load(request)
    if data is None:
        return None
    csrf, tenant_id, digest = data.get("csrf"), data.get("t"), data.get("k")
    if not isinstance(csrf, str):
        return None
    if not (tenant_id is None or isinstance(tenant_id, int)):
        return None
    if not (digest is None or isinstance(digest, str)):
        return None
    return PartnerSession(csrf, tenant_id, digest)


def write(request: Request, response: Response, session: PartnerSession) -> None:
    COOKIE_JAR.store(
        request, response, {"csrf": session.csrf, "t": session.tenant_id, "k": session.key_digest}
    )


def clear(response: Response) -> None:
    COOKIE_JAR.clear(response)
