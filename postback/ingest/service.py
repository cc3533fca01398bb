"""Ingestion: resolve the tenant, type every parameter, and hand the row to the batcher."""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

import orjson

from postback.ingest import fields
from postback.ingest.batcher import Batcher
from postback.ingest.ratelimit import TenantRateLimiter
from postback.ingest.schemas import ConversionRow, RejectionRow, StoredConversion
from postback.security import fingerprint
from postback.tenants.directory import TenantDirectory, TenantInfo, UnknownToken


@dataclass(slots=True)
class Received:
    """One postback as it came in: merged parameters, the raw payload and where from."""

    params: dict[str, Any]
    raw: dict[str, Any]
    method: str
    source_ip: str | None
    received_at: datetime


@dataclass(frozen=True, slots=True)
class Accepted:
    stored: StoredConversion
    conversion_id: str
    tenant: TenantInfo


class Refused(Exception):
    """A postback refused for its content; already kept as a rejection."""

    def __init__(
        self, status_code: int, errors: list[dict[str, str]], retry_after: int | None = None
    ) -> None:
        super().__init__(errors[0]["message"] if errors else "refused")
        self.status_code = status_code
        self.errors = errors
        self.retry_after = retry_after


# Seeded from the OS per process; receipt ids need uniqueness, not secrecy.
_random = random.Random()  # noqa: S311


def new_receipt_id() -> uuid.UUID:
    """A time-ordered UUID (version 7) so the receipt index grows at its right edge."""
    millis = time.time_ns() // 1_000_000
    rand = _random.getrandbits(80)
    value = (millis << 80) | (0x7 << 76) | ((rand >> 68) << 64) | (0b10 << 62)
    value |= rand & ((1 << 62) - 1)
    return uuid.UUID(int=value)


def extract_tokens(params: dict[str, Any]) -> dict[str, str]:
    tokens = {}
    for name in fields.TOKEN_FIELDS:
        try:
            value = fields.clean(params.get(name))
        except ValueError:
            value = None
        if value:
            tokens[name] = value
    return tokens


def masked(raw: dict[str, Any]) -> dict[str, Any]:
    """The raw payload with partner tokens replaced by their fingerprints."""
    if not any(name in raw for name in fields.TOKEN_FIELDS):
        return raw
    safe = dict(raw)
    for name in fields.TOKEN_FIELDS:
        value = safe.get(name)
        if isinstance(value, str) and value:
            safe[name] = fingerprint(value)
        elif value is not None:
            safe[name] = fingerprint(orjson.dumps(value).decode())
    return safe


_ALIASES_OF = {
    canonical: tuple(alias for alias, name in fields.ALIASES.items() if name == canonical)
    for canonical in fields.ALIASES.values()
}
_SHORT, _LONG, _AMOUNT, _CURRENCY, _DATETIME = range(5)
# Every typed parameter but conversion_id and status, in the order their errors are reported.
_TYPED = (
    *((name, _SHORT) for name in fields.TEXT_FIELDS_SHORT),
    *((name, _LONG) for name in fields.TEXT_FIELDS_LONG),
    *((name, _AMOUNT) for name in fields.AMOUNT_FIELDS),
    ("conversion_currency", _CURRENCY),
    *((name, _DATETIME) for name in fields.DATETIME_FIELDS),
)


def _get(params: dict[str, Any], name: str) -> Any:
    value = params.get(name)
    if value is None:
        for alias in _ALIASES_OF.get(name, ()):
            if alias in params:
                return params[alias]
    return value


def _text(
    params: dict[str, Any], name: str, limit: int, errors: list[dict[str, str]]
) -> str | None:
    try:
        text = fields.clean(_get(params, name))
    except ValueError as exc:
        errors.append({"field": name, "message": str(exc)})
        return None
    if text is not None and len(text) > limit:
        errors.append({"field": name, "message": f"is longer than {limit} characters"})
        return None
    return text


# Every parameter typed on the common path, by the name it is sent under.
_KIND_OF = {name: kind for name, kind in _TYPED} | {"conversion_id": _SHORT, "status": _SHORT}


_LIMIT_OF = {_SHORT: fields.MAX_ID_LENGTH, _LONG: fields.MAX_TEXT_LENGTH}


def _typed(kind: int, text: str, zone: ZoneInfo, now: datetime) -> Any:
    limit = _LIMIT_OF.get(kind)
    if limit is not None:
        if len(text) > limit:
            raise ValueError(f"is longer than {limit} characters")
        return text
    if kind == _AMOUNT:
        return fields.amount_text(text)
    if kind == _DATETIME:
        return fields.parse_datetime(text, zone, now)
    return fields.parse_currency(text)


def _present_values(params: dict[str, Any], zone: ZoneInfo, now: datetime) -> dict[str, Any] | None:
    """The typed value of every parameter sent, in one pass over what was sent; None when
    anything is wrong (the full pass below then names every problem, in a fixed order)."""
    values: dict[str, Any] = {}
    for name, raw in params.items():
        kind = _KIND_OF.get(name)
        if kind is None:
            canonical = fields.ALIASES.get(name)
            if canonical is None or params.get(canonical) is not None:
                continue  # not a typed parameter, or an alias its canonical name overrides
            name, kind = canonical, _KIND_OF[canonical]
        try:
            # fields.clean, inlined for the plain string nearly every value is
            text = raw.strip() if type(raw) is str else fields.clean(raw)
            if not text or (text[0] == "{" and fields.is_macro(text)):
                continue
            if "\x00" in text:
                return None
            values[name] = _typed(kind, text, zone, now)
        except ValueError:
            return None
    return values if "conversion_id" in values else None


def _checked_values(params: dict[str, Any], zone: ZoneInfo, now: datetime) -> dict[str, Any]:
    """Every typed parameter, field by field in a fixed order; raise FieldErrors naming each
    bad one."""
    errors: list[dict[str, str]] = []
    values: dict[str, Any] = {}
    values["conversion_id"] = _text(params, "conversion_id", fields.MAX_ID_LENGTH, errors)
    if values["conversion_id"] is None and not errors:
        errors.append({"field": "conversion_id", "message": "is required"})
    for name, kind in _TYPED:
        try:
            text = fields.clean(_get(params, name))
            values[name] = None if text is None else _typed(kind, text, zone, now)
        except ValueError as exc:
            errors.append({"field": name, "message": str(exc)})
    values["status"] = _text(params, "status", fields.MAX_ID_LENGTH, errors)
    if errors:
        raise fields.FieldErrors(errors)
    return values


def build_row(
    received: Received, tenant: TenantInfo, zone: ZoneInfo, receipt_id: uuid.UUID
) -> ConversionRow:
    """Type every Involve Asia parameter; raise FieldErrors naming each bad one."""
    params = received.params
    now = received.received_at
    values = _present_values(params, zone, now)
    if values is None:
        values = _checked_values(params, zone, now)
    get = values.get
    status_raw = get("status")
    return (
        receipt_id,
        tenant.id,
        values["conversion_id"],
        get("offer_id"),
        get("offer_name"),
        get("datetime_conversion"),
        get("datetime_conversion_updated"),
        get("order_id"),
        get("sale_amount_local"),
        get("myr_sale_amount"),
        get("usd_sale_amount"),
        get("payout_local"),
        get("myr_payout"),
        get("usd_payout"),
        get("conversion_currency"),
        fields.normalise_status(status_raw),
        status_raw,
        get("adv_sub"),
        get("adv_sub2"),
        get("adv_sub3"),
        get("adv_sub4"),
        get("adv_sub5"),
        get("aff_sub"),
        get("aff_sub2"),
        get("aff_sub3"),
        get("aff_sub4"),
        orjson.dumps(masked(received.raw)).decode(),
        received.received_at,
        received.source_ip,
        tenant.dedup,
    )


class IngestService:
    def __init__(
        self,
        directory: TenantDirectory,
        batcher: Batcher,
        limiter: TenantRateLimiter,
        *,
        strict_tokens: bool,
    ) -> None:
        self.directory = directory
        self.batcher = batcher
        self.limiter = limiter
        self.strict_tokens = strict_tokens

    async def receive(self, received: Received) -> Accepted:
        """Store one postback; raise Refused (after keeping it as a rejection) if it is bad."""
        tokens = extract_tokens(received.params)
        try:
            tenant = await self.directory.resolve(tokens, strict=self.strict_tokens)
        except UnknownToken as exc:
            await self.refuse(
                received, 422, "unknown_token", [{"field": exc.field, "message": str(exc)}]
            )
        if not tenant.enabled:
            field = next(iter(tokens), "ts_token")
            errors = [{"field": field, "message": f"partner {tenant.slug!r} is disabled"}]
            await self.refuse(received, 422, "tenant_disabled", errors, tenant)
        retry_after = await self.limiter.retry_after(tenant)
        if retry_after is not None:
            limit = tenant.rate_limit_per_minute
            message = f"partner {tenant.slug!r} is over its limit of {limit} postbacks a minute"
            errors = [{"field": "rate_limit", "message": message}]
            await self.refuse(
                received, 429, "rate_limited", errors, tenant, retry_after=retry_after
            )
        try:
            row = build_row(received, tenant, tenant.zone, new_receipt_id())
        except fields.FieldErrors as exc:
            await self.refuse(received, 422, "invalid", exc.errors, tenant)
        stored = await self.batcher.submit(row)
        return Accepted(stored=stored, conversion_id=row[2], tenant=tenant)

    async def refuse(
        self,
        received: Received | None,
        status_code: int,
        reason: str,
        errors: list[dict[str, str]],
        tenant: TenantInfo | None = None,
        *,
        method: str | None = None,
        source_ip: str | None = None,
        raw_text: str | None = None,
        retry_after: int | None = None,
    ) -> NoReturn:
        """Keep the refused postback with its reason, then raise Refused for the sender."""
        conversion_id = None
        if received is not None:
            value = received.params.get("conversion_id")
            conversion_id = value[:255] if isinstance(value, str) else None
        rejection = RejectionRow(
            received_at=received.received_at if received else datetime.now(UTC),
            reason=reason,
            errors=errors,
            tenant_id=tenant.id if tenant else None,
            conversion_id=conversion_id,
            method=received.method if received else method,
            source_ip=received.source_ip if received else source_ip,
            payload=masked(received.raw) if received else None,
            raw_text=raw_text,
        )
        await self.batcher.submit_rejection(rejection.as_tuple())
        raise Refused(status_code, errors, retry_after)
