"""Alert channels: checked when saved, shown with their tokens masked, tested on demand.

A webhook channel's URL must be http(s) and its host public (the forwarding domain's
`targets.check`, so POSTBACK_FORWARD_ALLOW_PRIVATE allows this network's addresses as it does
for forwards); an email channel has recipients and no URL; only DingTalk takes a signing
secret. Every change is audited (the secret and the URL's token never in the entry).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from postback.alerting import repository
from postback.alerting.channels import Channel, ChannelSender, Notice, masked_url
from postback.alerting.repository import ChannelRow
from postback.alerting.schemas import (
    ChannelIn,
    ChannelOut,
    ChannelTested,
    ChannelUpdate,
    NotificationCounts,
    NotificationOut,
)
from postback.audit import service as audit
from postback.audit.schemas import Target
from postback.errors import InvalidInput, NotFound
from postback.forwarding import targets
from postback.tenants import repository as tenants


class ChannelTargetRefused(InvalidInput):
    """The webhook URL's target is refused (targets.py says why)."""

    def __init__(self, refused: targets.TargetRefused) -> None:
        super().__init__(f"the URL {refused}", "url")
        self.refused = refused


class ChannelFieldMissing(InvalidInput):
    """A field this kind of channel needs is missing, or one it does not take is given."""

    def __init__(self, message: str, field: str, reason: str) -> None:
        super().__init__(message, field)
        self.reason = reason  # url_needed | url_not_taken | recipients_needed | secret_not_taken


async def _check(values: dict[str, Any], allow_private: bool) -> None:
    kind = values["kind"]
    if kind == "email":
        if not values.get("recipients"):
            raise ChannelFieldMissing(
                "an email channel needs recipients", "recipients", "recipients_needed"
            )
        if values.get("url"):
            raise ChannelFieldMissing("an email channel takes no URL", "url", "url_not_taken")
    else:
        if not values.get("url"):
            raise ChannelFieldMissing(
                f"a {kind} channel needs its webhook URL", "url", "url_needed"
            )
        if values.get("recipients"):
            raise ChannelFieldMissing(
                f"a {kind} channel takes no recipients", "recipients", "recipients_not_taken"
            )
        try:
            await targets.check(values["url"], allow_private=allow_private)
        except targets.TargetRefused as exc:
            raise ChannelTargetRefused(exc) from None
    if values.get("secret") and kind != "dingtalk":
        raise ChannelFieldMissing(
            "only a dingtalk channel takes a signing secret", "secret", "secret_not_taken"
        )


async def _tenant_exists(session: AsyncSession, tenant_id: int | None) -> None:
    if tenant_id is not None and await tenants.get_tenant(session, tenant_id) is None:
        raise NotFound(f"no partner with id {tenant_id}", "tenant_id")


def _out(row: ChannelRow, counts: dict[str, int], last_error: str | None) -> ChannelOut:
    return ChannelOut(
        id=row.id,
        name=row.name,
        kind=row.kind,
        url=masked_url(row.url),
        secret_set=row.secret is not None,
        recipients=row.recipients,
        tenant_id=row.tenant_id,
        tenant=row.tenant,
        min_severity=row.min_severity,
        language=row.language,
        enabled=row.enabled,
        notifications=NotificationCounts(**counts),
        last_error=last_error,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _target(row: ChannelRow) -> Target:
    return Target("alert_channel", row.id, row.name, row.tenant_id)


def _snapshot(row: ChannelRow) -> dict[str, Any]:
    return {
        "name": row.name,
        "kind": row.kind,
        "url": masked_url(row.url),
        "secret": row.secret is not None,
        "recipients": row.recipients,
        "tenant_id": row.tenant_id,
        "min_severity": row.min_severity,
        "language": row.language,
        "enabled": row.enabled,
    }


async def _row(session: AsyncSession, channel_id: int) -> ChannelRow:
    row = await repository.channel(session, channel_id)
    if row is None:
        raise NotFound(f"no alert channel with id {channel_id}", "channel_id")
    return row


async def list_channels(session: AsyncSession) -> list[ChannelOut]:
    counts = await repository.counts(session)
    errors = await repository.last_errors(session)
    return [
        _out(row, counts.get(row.id, {}), errors.get(row.id))
        for row in await repository.channels(session)
    ]


async def get_channel(session: AsyncSession, channel_id: int) -> ChannelOut:
    row = await _row(session, channel_id)
    counts = await repository.counts(session)
    errors = await repository.last_errors(session)
    return _out(row, counts.get(row.id, {}), errors.get(row.id))


async def create_channel(
    session: AsyncSession, data: ChannelIn, *, allow_private: bool
) -> ChannelOut:
    values = data.model_dump()
    await _tenant_exists(session, data.tenant_id)
    await _check(values, allow_private)
    channel_id = await repository.insert(session, values)
    row = await _row(session, channel_id)
    await audit.record(session, "alert_channel.create", _target(row), after=_snapshot(row))
    return _out(row, {}, None)


async def update_channel(
    session: AsyncSession, channel_id: int, data: ChannelUpdate, *, allow_private: bool
) -> ChannelOut:
    row = await _row(session, channel_id)
    changes = data.model_dump(exclude_unset=True)
    if "url" in changes and changes["url"] is not None and changes["url"] == masked_url(row.url):
        del changes["url"]  # the masked URL sent back as it was shown: unchanged
    for required in ("name", "min_severity", "language", "enabled"):
        if required in changes and changes[required] is None:
            raise InvalidInput(f"{required} cannot be null", required)
    if "tenant_id" in changes:
        await _tenant_exists(session, changes["tenant_id"])
    merged = {
        "kind": row.kind,
        "url": row.url,
        "secret": row.secret,
        "recipients": row.recipients,
        **changes,
    }
    if "url" in changes or "recipients" in changes or "secret" in changes:
        await _check(merged, allow_private)
    before = _snapshot(row)
    if changes:
        await repository.update(session, channel_id, changes)
    row = await _row(session, channel_id)
    old, new = audit.changed(before, _snapshot(row))
    if new:
        await audit.record(session, "alert_channel.update", _target(row), before=old, after=new)
    counts = await repository.counts(session)
    errors = await repository.last_errors(session)
    return _out(row, counts.get(row.id, {}), errors.get(row.id))


async def delete_channel(session: AsyncSession, channel_id: int) -> None:
    row = await _row(session, channel_id)
    await repository.delete(session, channel_id)
    await audit.record(session, "alert_channel.delete", _target(row), before=_snapshot(row))


def channel_of(fields: dict[str, Any]) -> Channel:
    """The sending view of a channel (from the queue's claim, or a stored row)."""
    return Channel(
        id=fields["channel_id"],
        name=fields["channel_name"],
        kind=fields["channel_kind"],
        url=fields["url"],
        secret=fields["secret"],
        recipients=fields["recipients"],
        language=fields["language"],
    )


def sample_notice(row: ChannelRow, now: datetime, zone: str) -> Notice:
    """A sample alert for a test message (kind `test`, nothing stored)."""
    partner = row.tenant or "all partners"
    alert = {
        "id": 0,
        "tenant": row.tenant or "*",
        "offer_id": None,
        "kind": "test",
        "severity": "warning",
        "state": "open",
        "started_at": now,
        "last_seen_at": now,
        "ended_at": None,
        "observed": 0.0,
        "expected": None,
        "message_en": f"A test message from Postback to the alert channel {row.name!r}.",
        "message_zh": f"这是 Postback 发给告警渠道「{row.name}」的测试消息。",
        "acknowledged_at": None,
        "resolved_at": None,
    }
    return Notice(alert, "test", partner, zone)


async def send_test(
    session: AsyncSession, channel_id: int, sender: ChannelSender, zone: str
) -> ChannelTested:
    """Send a test message to the channel now and tell what its receiver answered."""
    row = await _row(session, channel_id)
    if row.tenant_id is not None:
        tenant = await tenants.get_tenant(session, row.tenant_id)
        zone = (tenant.timezone if tenant else None) or zone
    channel = channel_of(
        {
            "channel_id": row.id,
            "channel_name": row.name,
            "channel_kind": row.kind,
            "url": row.url,
            "secret": row.secret,
            "recipients": row.recipients,
            "language": row.language,
        }
    )
    result = await sender.send(channel, sample_notice(row, datetime.now(UTC), zone), "test")
    return ChannelTested(
        ok=result.ok,
        target=result.url,
        status_code=result.status_code,
        latency_ms=result.latency_ms,
        error=result.error,
        response_excerpt=result.excerpt,
    )


async def list_notifications(
    session: AsyncSession, channel_id: int, limit: int
) -> list[NotificationOut]:
    await _row(session, channel_id)
    return [
        NotificationOut(**n) for n in await repository.notifications(session, channel_id, limit)
    ]
