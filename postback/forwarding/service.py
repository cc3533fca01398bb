"""Forwarding: the partner's forwards, what each attempt sends, and the delivery log.

A forward is checked when saved: every `{macro}` known and the target public (targets.py)
unless private targets are allowed. Deliveries are queued by the write statement; the worker
(jobs.py) sends them with `outgoing()` and `next_delay()`.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession

from postback.audit import service as audit
from postback.audit.schemas import Target
from postback.errors import InvalidInput, NotFound
from postback.forwarding import macros, repository, targets
from postback.forwarding.models import Forward
from postback.forwarding.repository import Claimed, DeliveryRow
from postback.forwarding.schemas import (
    AttemptOut,
    DeliveryOut,
    DeliveryPage,
    ForwardIn,
    ForwardOut,
    ForwardSaved,
    ForwardUpdate,
    TestSent,
)
from postback.forwarding.sender import Outgoing, Sender
from postback.tenants import repository as tenants


@dataclass(frozen=True, slots=True)
class Policy:
    """What the settings say about forwarding."""

    retry_seconds: tuple[float, ...]
    allow_private: bool
    flag_after: int
    zone: str


def new_signing_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 24 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def next_delay(policy: Policy, round_attempt: int) -> float | None:
    """Seconds until the next try after a failed attempt (1-based), None when none is left."""
    if round_attempt <= len(policy.retry_seconds):
        return policy.retry_seconds[round_attempt - 1]
    return None


def _zone(name: str | None, default: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or default)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(default)


def outgoing(claimed: Claimed, conversion: dict[str, Any], default_zone: str) -> Outgoing:
    """The request one attempt sends: macros filled in the URL, and for POST the same values
    as a JSON object (money as strings, so no precision is lost)."""
    filled = macros.values(
        conversion,
        event=claimed.event,
        status=claimed.event_status,
        attempt=claimed.attempt,
        delivery_id=claimed.delivery_id,
        tenant=claimed.tenant,
        payout_percent=claimed.payout_percent,
        zone=_zone(claimed.timezone, default_zone),
    )
    body = orjson.dumps(filled) if claimed.method == "POST" else None
    return Outgoing(
        url=macros.fill(claimed.url, filled),
        method=claimed.method,
        delivery_id=str(claimed.delivery_id),
        body=body,
        signing_secret=claimed.signing_secret if body is not None else None,
    )


# Refusals a page words in its own language: each keeps what it refused.


class UnknownMacro(InvalidInput):
    """The URL names `{…}` macros that do not exist (sent as literal text otherwise)."""

    def __init__(self, names: list[str]) -> None:
        shown = ", ".join("{" + name + "}" for name in names)
        known = ", ".join(sorted(macros.MACROS))
        super().__init__(f"unknown macro {shown}; the macros are: {known}", "url")
        self.names = names


class TargetNotAllowed(InvalidInput):
    """The URL's target is refused (targets.py says why)."""

    def __init__(self, refused: targets.TargetRefused) -> None:
        super().__init__(f"the URL {refused}", "url")
        self.refused = refused


class SigningNeedsPost(InvalidInput):
    def __init__(self) -> None:
        super().__init__("signing needs method POST (a GET has no body to sign)", "signing")


class NotDead(InvalidInput):
    """Only a dead delivery is re-sent."""

    def __init__(self, delivery_id: int, state: str) -> None:
        super().__init__(
            f"delivery {delivery_id} is {state}; only dead ones are re-sent", "delivery_id"
        )
        self.state = state


async def _check_url(url: str, policy: Policy) -> None:
    unknown = macros.unknown(url)
    if unknown:
        raise UnknownMacro(unknown)
    # The host may itself hold a macro only in the query or path, never in the authority.
    probe = macros.PATTERN.sub("x", url)
    try:
        await targets.check(probe, allow_private=policy.allow_private)
    except targets.TargetRefused as exc:
        raise TargetNotAllowed(exc) from None


async def _tenant_exists(session: AsyncSession, tenant_id: int) -> None:
    if await tenants.get_tenant(session, tenant_id) is None:
        raise NotFound(f"no partner with id {tenant_id}", "tenant_id")


def _out(forward: Forward, counts: dict[str, int], policy: Policy) -> dict[str, Any]:
    return {
        "id": forward.id,
        "tenant_id": forward.tenant_id,
        "url": macros.masked(forward.url),
        "method": forward.method,
        "events": forward.events,
        "statuses": forward.statuses,
        "offers": forward.offers,
        "payout_percent": forward.payout_percent,
        "signing": forward.signing_secret is not None,
        "enabled": forward.enabled,
        "failing": forward.dead_in_a_row >= policy.flag_after,
        "dead_in_a_row": forward.dead_in_a_row,
        "deliveries": {s: counts.get(s, 0) for s in ("pending", "delivered", "dead")},
        "created_at": forward.created_at,
        "updated_at": forward.updated_at,
    }


def _target(forward: Forward) -> Target:
    return Target("forward", forward.id, macros.masked(forward.url), forward.tenant_id)


def _snapshot(forward: Forward) -> dict[str, Any]:
    """The forward as its audit entries keep it: the URL masked, whether it signs (the
    signing secret itself never)."""
    return {
        "url": macros.masked(forward.url),
        "method": forward.method,
        "events": list(forward.events),
        "statuses": forward.statuses,
        "offers": forward.offers,
        "payout_percent": forward.payout_percent,
        "signing": forward.signing_secret is not None,
        "enabled": forward.enabled,
    }


async def list_forwards(session: AsyncSession, tenant_id: int, policy: Policy) -> list[ForwardOut]:
    await _tenant_exists(session, tenant_id)
    forwards = await repository.forwards_of(session, tenant_id)
    counts = await repository.delivery_counts(session, [f.id for f in forwards])
    return [ForwardOut(**_out(f, counts.get(f.id, {}), policy)) for f in forwards]


async def _forward(session: AsyncSession, tenant_id: int, forward_id: int) -> Forward:
    found = await repository.forward_of(session, tenant_id, forward_id)
    if found is None:
        raise NotFound(f"partner {tenant_id} has no forward {forward_id}", "forward_id")
    return found


async def get_forward(
    session: AsyncSession, tenant_id: int, forward_id: int, policy: Policy
) -> ForwardOut:
    forward = await _forward(session, tenant_id, forward_id)
    counts = await repository.delivery_counts(session, [forward.id])
    return ForwardOut(**_out(forward, counts.get(forward.id, {}), policy))


def _check_signing(method: str, signing: bool) -> None:
    if signing and method != "POST":
        raise SigningNeedsPost()


async def create_forward(
    session: AsyncSession, tenant_id: int, data: ForwardIn, policy: Policy
) -> ForwardSaved:
    await _tenant_exists(session, tenant_id)
    await _check_url(data.url, policy)
    _check_signing(data.method, data.signing)
    forward = Forward(
        tenant_id=tenant_id,
        url=data.url,
        method=data.method,
        events=list(data.events),
        statuses=data.statuses,
        offers=data.offers,
        payout_percent=data.payout_percent,
        signing_secret=new_signing_secret() if data.signing else None,
        enabled=data.enabled,
    )
    session.add(forward)
    await session.flush()
    await session.refresh(forward)
    await audit.record(session, "forward.create", _target(forward), after=_snapshot(forward))
    return ForwardSaved(**_out(forward, {}, policy), signing_secret=forward.signing_secret)


async def update_forward(
    session: AsyncSession, tenant_id: int, forward_id: int, data: ForwardUpdate, policy: Policy
) -> ForwardSaved:
    forward = await _forward(session, tenant_id, forward_id)
    before = _snapshot(forward)
    changes = data.model_dump(exclude_unset=True)
    if "url" in changes:
        await _check_url(changes["url"], policy)
    signing = changes.pop("signing", forward.signing_secret is not None)
    method = changes.get("method", forward.method)
    _check_signing(method, signing)
    shown: str | None = None
    if signing and forward.signing_secret is None:
        shown = forward.signing_secret = new_signing_secret()
    elif not signing:
        forward.signing_secret = None
    for name, value in changes.items():
        setattr(forward, name, list(value) if name == "events" else value)
    forward.updated_at = func.now()
    await session.flush()
    await session.refresh(forward)
    old, new = audit.changed(before, _snapshot(forward))
    if new:
        await audit.record(session, "forward.update", _target(forward), before=old, after=new)
    counts = await repository.delivery_counts(session, [forward.id])
    return ForwardSaved(**_out(forward, counts.get(forward.id, {}), policy), signing_secret=shown)


async def rotate_signing_secret(
    session: AsyncSession, tenant_id: int, forward_id: int, policy: Policy
) -> ForwardSaved:
    forward = await _forward(session, tenant_id, forward_id)
    _check_signing(forward.method, True)
    was_set = forward.signing_secret is not None
    forward.signing_secret = new_signing_secret()
    forward.updated_at = func.now()
    await session.flush()
    await session.refresh(forward)
    await audit.record(
        session,
        "forward.rotate_secret",
        _target(forward),
        before={"signing_secret": audit.MASK if was_set else None},
        after={"signing_secret": audit.REPLACED},
    )
    counts = await repository.delivery_counts(session, [forward.id])
    return ForwardSaved(
        **_out(forward, counts.get(forward.id, {}), policy), signing_secret=forward.signing_secret
    )


async def delete_forward(session: AsyncSession, tenant_id: int, forward_id: int) -> None:
    forward = await _forward(session, tenant_id, forward_id)
    target, before = _target(forward), _snapshot(forward)
    await repository.delete_forward(session, forward.id)
    await audit.record(session, "forward.delete", target, before=before)


def _delivery_out(row: DeliveryRow, attempts: Sequence[AttemptOut] | None) -> DeliveryOut:
    d = row.delivery
    return DeliveryOut(
        id=d.id,
        forward_id=d.forward_id,
        conversion_id=row.conversion_id,
        conversion_row_id=d.conversion_row_id,
        event=d.event,
        status=d.status,
        state=d.state,
        attempts=d.attempts,
        last_status_code=d.last_status_code,
        last_error=d.last_error,
        url=row.last_url or macros.masked(row.forward_url),
        created_at=d.created_at,
        last_attempt_at=row.last_attempt_at,
        next_attempt_at=d.next_attempt_at if d.state == "pending" else None,
        delivered_at=d.delivered_at,
        attempt_log=list(attempts) if attempts is not None else None,
    )


async def list_deliveries(
    session: AsyncSession,
    tenant_id: int,
    *,
    forward_id: int | None = None,
    conversion_id: str | None = None,
    state: str | None = None,
    before_id: int | None = None,
    limit: int = 50,
    with_attempts: bool = False,
) -> DeliveryPage:
    await _tenant_exists(session, tenant_id)
    query = repository.deliveries_query(
        tenant_id,
        forward_id=forward_id,
        conversion_id=conversion_id,
        state=state,
        before_id=before_id,
    )
    rows = await repository.deliveries(session, query, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    logs: dict[int, list[AttemptOut]] = {}
    if with_attempts and rows:
        for attempt in await repository.attempts_of(session, [r.delivery.id for r in rows]):
            logs.setdefault(attempt.delivery_id, []).append(
                AttemptOut.model_validate(attempt, from_attributes=True)
            )
    items = [_delivery_out(r, logs.get(r.delivery.id, []) if with_attempts else None) for r in rows]
    return DeliveryPage(items=items, next_before_id=rows[-1].delivery.id if more else None)


async def get_delivery(session: AsyncSession, tenant_id: int, delivery_id: int) -> DeliveryOut:
    row = await repository.delivery_of(session, tenant_id, delivery_id)
    if row is None:
        raise NotFound(f"partner {tenant_id} has no delivery {delivery_id}", "delivery_id")
    attempts = await repository.attempts_of(session, [delivery_id])
    return _delivery_out(
        row, [AttemptOut.model_validate(a, from_attributes=True) for a in attempts]
    )


async def resend(
    session: AsyncSession, tenant_id: int, forward_id: int, delivery_id: int | None = None
) -> int:
    """Dead deliveries of the forward (or the one named) queued again; how many."""
    forward = await _forward(session, tenant_id, forward_id)
    if delivery_id is not None:
        row = await repository.delivery_of(session, tenant_id, delivery_id)
        if row is None or row.delivery.forward_id != forward.id:
            raise NotFound(f"forward {forward_id} has no delivery {delivery_id}", "delivery_id")
        if row.delivery.state != "dead":
            raise NotDead(delivery_id, row.delivery.state)
    count = await repository.requeue_dead(session, forward.id, delivery_id)
    if delivery_id is None:
        target, action = _target(forward), "forward.resend"
    else:
        name = f"forward {forward.id}"
        target, action = Target("delivery", delivery_id, name, tenant_id), "delivery.resend"
    await audit.record(session, action, target, after={"requeued": count})
    return count


SAMPLE: dict[str, Any] = {
    "conversion_id": "TEST-0001",
    "order_id": "ORDER-TEST-0001",
    "offer_id": "1001",
    "offer_name": "Shopee MY (test)",
    "status_raw": "pending",
    "aff_sub": "click-test",
    "aff_sub2": None,
    "aff_sub3": None,
    "aff_sub4": None,
    "adv_sub": None,
    "adv_sub2": None,
    "adv_sub3": None,
    "adv_sub4": None,
    "adv_sub5": None,
    "payout_local": Decimal("10.00"),
    "usd_payout": Decimal("2.13"),
    "myr_payout": Decimal("10.00"),
    "sale_amount_local": Decimal("100.00"),
    "usd_sale_amount": Decimal("21.30"),
    "myr_sale_amount": Decimal("100.00"),
    "conversion_currency": "MYR",
}


async def send_test(
    session: AsyncSession, tenant_id: int, forward_id: int, sender: Sender, policy: Policy
) -> TestSent:
    """Send a sample conversion to the forward now, as attempt 1 of delivery 0; nothing kept."""
    forward = await _forward(session, tenant_id, forward_id)
    tenant = await tenants.get_tenant(session, tenant_id)
    assert tenant is not None
    now = datetime.now(UTC)
    conversion = {**SAMPLE, "datetime_conversion": now, "datetime_conversion_updated": None}
    conversion["received_at"] = now
    claimed = Claimed(
        delivery_id=0,
        event="created",
        event_status="pending",
        attempt=1,
        round_attempt=1,
        url=forward.url,
        method=forward.method,
        payout_percent=forward.payout_percent,
        signing_secret=forward.signing_secret,
        tenant=tenant.slug,
        timezone=tenant.timezone,
        conversion=conversion,
    )
    result = await sender.send(outgoing(claimed, conversion, policy.zone))
    return TestSent(
        ok=result.ok,
        url=result.url,
        status_code=result.status_code,
        latency_ms=result.latency_ms,
        error=result.error,
        response_excerpt=result.excerpt,
    )
