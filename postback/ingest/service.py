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


def build_row(
    received: Received, tenant: TenantInfo, zone: ZoneInfo, receipt_id: uuid.UUID
) -> ConversionRow:
    """Type every Involve Asia parameter; raise FieldErrors naming each bad one."""
    errors: list[dict[str, str]] = []
    params = received.params
    conversion_id = _text(params, "conversion_id", fields.MAX_ID_LENGTH, errors)
    if conversion_id is None and not errors:
        errors.append({"field": "conversion_id", "message": "is required"})
    values: dict[str, Any] = {}
    for name, kind in _TYPED:
        value: Any = None
        try:
            text = fields.clean(_get(params, name))
            if text is None:
                pass
            elif kind == _AMOUNT:
                value = fields.parse_amount(text)
            elif kind in (_LONG, _SHORT):
                limit = fields.MAX_TEXT_LENGTH if kind == _LONG else fields.MAX_ID_LENGTH
                if len(text) > limit:
                    raise ValueError(f"is longer than {limit} characters")
                value = text
            elif kind == _DATETIME:
                value = fields.parse_datetime(text, zone, received.received_at)
            else:
                value = fields.parse_currency(text)
        except ValueError as exc:
            errors.append({"field": name, "message": str(exc)})
        values[name] = value
    status_raw = _text(params, "status", fields.MAX_ID_LENGTH, errors)
    if errors:
        raise fields.FieldErrors(errors)
    return (
        receipt_id,
        tenant.id,
        conversion_id,
        values["offer_id"],
        values["offer_name"],
        values["datetime_conversion"],
        values["datetime_conversion_updated"],
        values["order_id"],
        values["sale_amount_local"],
        values["myr_sale_amount"],
        values["usd_sale_amount"],
        values["payout_local"],
        values["myr_payout"],
        values["usd_payout"],
        values["conversion_currency"],
        fields.normalise_status(status_raw),
        status_raw,
        values["adv_sub"],
        values["adv_sub2"],
        values["adv_sub3"],
        values["adv_sub4"],
        values["adv_sub5"],
        values["aff_sub"],
        values["aff_sub2"],
        values["aff_sub3"],
        values["aff_sub4"],
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
