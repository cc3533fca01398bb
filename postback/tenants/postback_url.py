"""The postback URL a partner pastes into Involve Asia, with every macro the network fills."""

from __future__ import annotations

from urllib.parse import quote

from postback.ingest.fields import AMOUNT_FIELDS, DATETIME_FIELDS, TEXT_FIELDS_LONG

# Involve Asia's macro names are the parameter names ingestion reads, in the network's order.
MACROS: tuple[str, ...] = (
    "conversion_id",
    "offer_id",
    "offer_name",
    *DATETIME_FIELDS,
    "order_id",
    *AMOUNT_FIELDS,
    "conversion_currency",
    "status",
    *(name for name in TEXT_FIELDS_LONG if name != "offer_name"),
)


def placeholder(token_field: str) -> str:
    return f"<YOUR_{token_field.upper()}>"


def build(base: str, token_field: str | None, token: str | None = None) -> str:
    """`{base}/postback/?conversion_id={conversion_id}&…` plus the token, or its placeholder."""
    params = [f"{name}={{{name}}}" for name in MACROS]
    if token_field is not None:
        value = quote(token, safe="") if token is not None else placeholder(token_field)
        params.append(f"{token_field}={value}")
    return f"{base.rstrip('/')}/postback/?{'&'.join(params)}"
