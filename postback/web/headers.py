"""Security headers: every HTML page of the app gets a Content-Security-Policy that allows
nothing from another site, frame denial, nosniff and a referrer policy; every other answer
gets nosniff. A page that needs more (the API docs) sends its own policy, built here too."""

from __future__ import annotations

import base64
import hashlib
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The strictest policy a page of this app can live with: its own files only, no inline
# script or style, no plugins, never framed, forms post only back to the app.
BASE_POLICY = {
    "default-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
PAGE_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
INLINE = re.compile(r"<(script|style)(?![^>]*\bsrc=)[^>]*>(.*?)</\1>", re.DOTALL | re.IGNORECASE)


def content_security_policy(**extra: str) -> str:
    """BASE_POLICY with more directives (`script_src="'self' …"` sets `script-src`)."""
    directives = BASE_POLICY | {name.replace("_", "-"): value for name, value in extra.items()}
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def inline_hashes(html: str, tag: str) -> str:
    """The CSP sources that allow exactly this page's inline `<script>` or `<style>` blocks."""
    sources = []
    for found_tag, body in INLINE.findall(html):
        if found_tag.lower() == tag:
            digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
            sources.append(f"'sha256-{digest}'")
    return " ".join(sources)


def policy_for_page(html: str, **extra: str) -> str:
    """A policy allowing the page's own files and its inline blocks, nothing else inline."""
    scripts = inline_hashes(html, "script")
    styles = inline_hashes(html, "style")
    if scripts and "script_src" not in extra:
        extra["script_src"] = f"'self' {scripts}"
    if styles and "style_src" not in extra:
        extra["style_src"] = f"'self' {styles}"
    return content_security_policy(**extra)


PAGE_POLICY = content_security_policy()
CSP = "Content-Security-Policy"
# Every answer of the browser pages (/admin, /dashboard, /ask), redirects too: the policy,
# the page headers, and no caching (a page can carry a secret shown once).
BROWSER_PAGE_HEADERS = {CSP: PAGE_POLICY, **PAGE_HEADERS, "Cache-Control": "no-store"}
_HTML_DEFAULTS = [
    (name.lower().encode(), value.encode())
    for name, value in {CSP: PAGE_POLICY, **PAGE_HEADERS}.items()
]
_NOSNIFF = (b"x-content-type-options", b"nosniff")


class SecurityHeaders:
    """Pure ASGI middleware adding the headers a response has not set itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[tuple[bytes, bytes]] = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                content_type = next((v for n, v in headers if n.lower() == b"content-type"), b"")
                wanted = _HTML_DEFAULTS if content_type.startswith(b"text/html") else [_NOSNIFF]
                headers.extend(header for header in wanted if header[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
