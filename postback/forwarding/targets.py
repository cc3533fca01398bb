"""Where a forward may send: never to this network's own machines unless allowed.

A target's host is resolved and every address it resolves to must be a public one
(`ipaddress`'s `is_global`, and not multicast): loopback, private, link-local (cloud metadata
at 169.254.169.254), carrier-grade NAT, unspecified and reserved ranges are refused, and an
IPv6 address that embeds an IPv4 one is judged by the IPv4 one. The check runs when a forward
is saved and again before every send, since DNS answers can change; the send then connects to
the address that was checked (see sender.py), so a second lookup cannot swap it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(Exception):
    """The URL cannot be sent to; the message says why, for the sender's log and the API, and
    `reason` with `details` say it again for a page that words it in its own language."""

    def __init__(self, message: str, reason: str, **details: str) -> None:
        super().__init__(message)
        self.reason = reason  # invalid | scheme | no_host | unresolved | private
        self.details = details


@dataclass(frozen=True, slots=True)
class Target:
    """A URL's host and port, and the address to connect to (None: let the client resolve)."""

    host: str
    port: int
    address: str | None


def is_public(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None:
            return is_public(embedded)
    return address.is_global and not address.is_multicast


def split_url(url: str) -> tuple[str, int]:
    """The host and port of an http(s) URL, or TargetRefused."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetRefused(f"is not a valid URL ({exc})", "invalid", problem=str(exc)) from None
    if parts.scheme not in ("http", "https"):
        raise TargetRefused("must start with http:// or https://", "scheme")
    if not parts.hostname:
        raise TargetRefused("has no host", "no_host")
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


async def resolve(host: str, port: int) -> list[Address]:
    with contextlib.suppress(ValueError):
        return [ipaddress.ip_address(host)]  # an address already: nothing to look up
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise TargetRefused(
            f"host {host} does not resolve ({exc})", "unresolved", host=host
        ) from None
    found: list[Address] = []
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if address not in found:
            found.append(address)
    return found


async def check(url: str, *, allow_private: bool) -> Target:
    """The target of `url` when it may be sent to; TargetRefused naming the address if not."""
    host, port = split_url(url)
    if allow_private:
        return Target(host, port, None)
    addresses = await resolve(host, port)
    refused = [a for a in addresses if not is_public(a)]
    if refused or not addresses:
        shown = ", ".join(str(a) for a in refused) or "nothing"
        raise TargetRefused(
            f"host {host} resolves to {shown}, a loopback, private, link-local or reserved "
            "address; set POSTBACK_FORWARD_ALLOW_PRIVATE=true to allow such targets",
            "private",
            host=host,
            addresses=shown,
        )
    return Target(host, port, str(addresses[0]))
