"""Signed session cookies of the browser pages (admin, dashboard, /ask).

The signing key is derived from the admin token, so every instance agrees on it without
shared state, and changing the admin token signs everyone out. Each page has its own key (a
cookie of one page is worthless to another). A cookie holds no secret of its own: it only
proves this server issued it, and when.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from postback.security import secrets_equal

CSRF_FIELD = "csrf_token"


def new_csrf() -> str:
    return secrets.token_urlsafe(32)


def csrf_matches(expected: str, given: object) -> bool:
    return isinstance(given, str) and secrets_equal(given, expected)


@dataclass(frozen=True, slots=True)
class SignedCookie:
    name: str
    path: str
    purpose: str  # "admin", "dashboard", "ask": separates the keys
    max_age: int = 12 * 3600

    def _serializer(self, request: Request) -> URLSafeTimedSerializer:
        context = f"postback {self.purpose} session v1".encode()
        key = hmac.new(request.app.state.admin_token.encode(), context, hashlib.sha256).digest()
        return URLSafeTimedSerializer(key, salt=f"postback.{self.purpose}.session")

    def load(self, request: Request) -> dict[str, Any] | None:
        """What the request's cookie carries, if it is genuine and not expired."""
        cookie = request.cookies.get(self.name)
        if not cookie:
            return None
        try:
            data = self._serializer(request).loads(cookie, max_age=self.max_age)
        except BadSignature:
            return None
        return data if isinstance(data, dict) else None

    def store(self, request: Request, response: Response, data: dict[str, Any]) -> None:
        response.set_cookie(
            self.name,
            self._serializer(request).dumps(data),
            max_age=self.max_age,
            path=self.path,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )

    def clear(self, response: Response) -> None:
        response.delete_cookie(self.name, path=self.path, httponly=True, samesite="lax")
