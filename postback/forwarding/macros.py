"""Macros in a forward's URL: `{name}` filled with the conversion's values, URL-encoded.

The names are the ones affiliate trackers use; an unknown name is refused when the forward is
saved, since a misspelt macro would otherwise reach the partner as literal text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

# Conversion columns sent under the same name.
PLAIN = (
    "conversion_id",
    "order_id",
    "offer_id",
    "offer_name",
    "status_raw",
    "aff_sub",
    "aff_sub2",
    "aff_sub3",
    "aff_sub4",
    "adv_sub",
    "adv_sub2",
    "adv_sub3",
    "adv_sub4",
    "adv_sub5",
)
# Money a partner's share applies to, and money sent as stored.
SHARED = {"payout": "payout_local", "usd_payout": "usd_payout", "myr_payout": "myr_payout"}
AMOUNTS = {
    "sale_amount": "sale_amount_local",
    "usd_sale_amount": "usd_sale_amount",
    "myr_sale_amount": "myr_sale_amount",
}
MOMENTS = ("datetime_conversion", "datetime_conversion_updated", "received_at")
MACROS = frozenset(
    (
        *PLAIN,
        *SHARED,
        *AMOUNTS,
        *MOMENTS,
        "status",
        "currency",
        "event",
        "attempt",
        "delivery_id",
        "tenant",
    )
)
PATTERN = re.compile(r"\{([^{}]*)\}")


def unknown(url: str) -> list[str]:
    """The `{…}` names in `url` that are not macros, in order of appearance."""
    return list(dict.fromkeys(n for n in PATTERN.findall(url) if n not in MACROS))


def share_of(amount: Decimal, percent: Decimal | None) -> Decimal:
    """The partner's share of an amount: `percent` of it, to the cent (half up)."""
    if percent is None or percent == 100:
        return amount
    return (amount * percent / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def money(amount: Decimal) -> Decimal:
    """An amount as senders write it: trailing zeros of the stored scale dropped, cents kept
    (6.020000 -> 6.02, 6 -> 6.00, 0.012500 -> 0.0125)."""
    normal = amount.normalize()
    return normal if normal.as_tuple().exponent < -2 else amount.quantize(Decimal("0.01"))  # type: ignore[operator]


def _text(value: Any, zone: ZoneInfo) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(zone).isoformat()
    if isinstance(value, Decimal):
        return format(money(value), "f")
    return str(value)


def values(
    conversion: Mapping[str, Any],
    *,
    event: str,
    status: str,
    attempt: int,
    delivery_id: int,
    tenant: str,
    payout_percent: Decimal | None,
    zone: ZoneInfo,
) -> dict[str, str]:
    """Every macro's value for one attempt of a delivery, as text (empty when not sent).

    `status` is the status the event fired with (the conversion may have moved since)."""
    found: dict[str, str] = {name: _text(conversion[name], zone) for name in PLAIN}
    for name, column in SHARED.items():
        amount = conversion[column]
        found[name] = "" if amount is None else _text(share_of(amount, payout_percent), zone)
    for name, column in AMOUNTS.items():
        found[name] = _text(conversion[column], zone)
    for name in MOMENTS:
        found[name] = _text(conversion[name], zone)
    found["status"] = status
    found["currency"] = _text(conversion["conversion_currency"], zone)
    found["event"] = event
    found["attempt"] = str(attempt)
    found["delivery_id"] = str(delivery_id)
    found["tenant"] = tenant
    return found


def fill(url: str, filled: Mapping[str, str]) -> str:
    """`url` with each known `{name}` replaced by its URL-encoded value."""
    return PATTERN.sub(
        lambda m: quote(filled[m[1]], safe="") if m[1] in filled else m[0],
        url,
    )


_SECRET_NAME = re.compile(r"token|key|secret|pass|sig|auth|hash", re.IGNORECASE)


def secret_name(name: str) -> bool:
    """Whether a parameter's name says its value is a secret (masked wherever it is shown)."""
    return _SECRET_NAME.search(name) is not None


def masked(url: str) -> str:
    """`url` as it may be shown and kept: the values of parameters named like secrets (token,
    key, secret, password, signature, auth, hash) and any password in the authority as ***."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        netloc = netloc.replace(f":{parts.password}@", ":***@", 1)
    query = "&".join(
        f"{name}=***" if _SECRET_NAME.search(name) and sep else f"{name}{sep}{value}"
        for name, sep, value in (item.partition("=") for item in parts.query.split("&") if item)
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
