"""Saved questions and scheduled reports.

A saved question is the plan of a conversation's current question (`POST /api/nlq`), kept
under its owner (role, partner and personal account: `nlq.service.owner_of`); only that owner
sees, runs, renames or removes it, and it runs with the owner's principal, so a partner's
tile only ever shows that partner's data. Relative periods ("yesterday", "最近7天") are read
again at each run.

A report sends a saved question's answer to one of the agency's alert channels every day,
or every week on one weekday, at an hour of the reporting timezone (the partner's own when
the question is a partner's and it has one, else POSTBACK_TIMEZONE). Alert channels are the
agency's, so only its staff (admins and analysts) schedule reports.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from postback.accounts.models import Role
from postback.audit import service as audit
from postback.audit.schemas import Target
from postback.auth import Principal
from postback.errors import Forbidden, InvalidInput, NotFound
from postback.nlq import lexer
from postback.nlq import service as nlq
from postback.nlq.schemas import NlqAnswer
from postback.reports import repository
from postback.reports.repository import Due, QuestionRow, ScheduleRow
from postback.reports.schemas import (
    ChannelChoice,
    SavedQuestionIn,
    SavedQuestionOut,
    SavedQuestionUpdate,
    ScheduleIn,
    ScheduleOut,
    ScheduleUpdate,
)
from postback.settings import Settings


class SavedQuestionNotFound(NotFound):
    def __init__(self, question_id: int) -> None:
        super().__init__(f"no saved question of yours with id {question_id}", "saved_question_id")


class ScheduleNotFound(NotFound):
    def __init__(self, schedule_id: int) -> None:
        super().__init__(f"no report of yours with id {schedule_id}", "report_id")


class StaffOnly(Forbidden):
    def __init__(self) -> None:
        super().__init__(
            "reports are sent to the agency's alert channels: scheduling them needs an admin "
            "or an analyst",
            "authorization",
        )


class ChannelNotFound(InvalidInput):
    def __init__(self, channel_id: int) -> None:
        super().__init__(f"no alert channel with id {channel_id}", "channel")


class WeekdayNeeded(InvalidInput):
    def __init__(self) -> None:
        super().__init__("a weekly report needs its weekday: 0 (Monday) to 6 (Sunday)", "weekday")


class WeekdayNotTaken(InvalidInput):
    def __init__(self) -> None:
        super().__init__("a daily report takes no weekday", "weekday")


def require_staff(principal: Principal) -> None:
    if not principal.sees_every_partner:
        raise StaffOnly()


# ---------------------------------------------------------------------------- time


def zone_name(own: str | None, default: str) -> str:
    """The reporting timezone: the partner's own when it has a valid one, else `default`."""
    if own:
        try:
            ZoneInfo(own)
        except (ZoneInfoNotFoundError, ValueError):
            return default
        return own
    return default


def next_run(
    cadence: str, weekday: int | None, hour: int, zone: ZoneInfo, after: datetime
) -> datetime:
    """The first moment after `after` that is `hour`:00 in `zone` (on `weekday` for a weekly
    report). An hour a clock change skips is sent at the hour after it; an hour it repeats,
    at the first of the two."""
    first_day = after.astimezone(zone).date()
    for offset in range(8):
        day = first_day + timedelta(days=offset)
        if cadence == "weekly" and day.weekday() != weekday:
            continue
        moment = datetime.combine(day, time(hour), tzinfo=zone).astimezone(UTC)
        if moment > after:
            return moment
    raise AssertionError("a day of the next eight is always the one")


async def _zone_of(session: AsyncSession, tenant_id: int | None, settings: Settings) -> str:
    own = None if tenant_id is None else await repository.tenant_timezone(session, tenant_id)
    return zone_name(own, settings.timezone)


# ---------------------------------------------------------------------------- questions


def _question_out(row: QuestionRow) -> SavedQuestionOut:
    return SavedQuestionOut(
        id=row.id,
        title=row.title,
        question=row.question,
        language="zh" if row.language == "zh" else "en",
        position=row.position,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _question_target(row: QuestionRow) -> Target:
    return Target("saved_question", row.id, row.title, row.tenant_id)


async def _own_question(
    session: AsyncSession, principal: Principal, question_id: int
) -> QuestionRow:
    row = await repository.question(session, question_id, nlq.owner_of(principal))
    if row is None:
        raise SavedQuestionNotFound(question_id)
    return row


async def save_question(
    session: AsyncSession,
    conn: asyncpg.Connection,
    principal: Principal,
    data: SavedQuestionIn,
) -> SavedQuestionOut:
    """Keep the conversation's current question under its asker."""
    plan, question = await nlq.conversation_plan(conn, principal, data.conversation)
    language = plan.get("language")
    if language not in ("zh", "en"):
        language = lexer.language_of(question)
    question_id = await repository.insert_question(
        session,
        owner=nlq.owner_of(principal),
        tenant_id=principal.tenant_id,
        user_id=principal.user_id,
        title=data.title,
        question=question,
        language=str(language),
        plan=plan,
    )
    row = await _own_question(session, principal, question_id)
    after = {"title": row.title, "question": row.question}
    await audit.record(session, "saved_question.create", _question_target(row), after=after)
    return _question_out(row)


async def list_questions(session: AsyncSession, principal: Principal) -> list[SavedQuestionOut]:
    return [_question_out(r) for r in await repository.questions(session, nlq.owner_of(principal))]


async def update_question(
    session: AsyncSession, principal: Principal, question_id: int, data: SavedQuestionUpdate
) -> SavedQuestionOut:
    row = await _own_question(session, principal, question_id)
    changes = data.model_dump(exclude_unset=True)
    for required in ("title", "position"):
        if required in changes and changes[required] is None:
            raise InvalidInput(f"{required} cannot be null", required)
    await repository.update_question(session, question_id, row.owner, changes)
    updated = await _own_question(session, principal, question_id)
    before, after = audit.changed(
        {"title": row.title, "position": row.position},
        {"title": updated.title, "position": updated.position},
    )
    if after:
        await audit.record(
            session, "saved_question.update", _question_target(updated), before=before, after=after
        )
    return _question_out(updated)


async def delete_question(session: AsyncSession, principal: Principal, question_id: int) -> None:
    row = await _own_question(session, principal, question_id)
    await repository.delete_question(session, question_id, row.owner)
    before = {"title": row.title, "question": row.question}
    await audit.record(session, "saved_question.delete", _question_target(row), before=before)


async def answer_question(
    session: AsyncSession,
    conn: asyncpg.Connection,
    principal: Principal,
    question_id: int,
    settings: Settings,
) -> NlqAnswer:
    """The saved question answered now, as `POST /api/nlq` answers. Raises CannotAnswer."""
    row = await _own_question(session, principal, question_id)
    return await nlq.answer_plan(
        conn, principal, row.plan, settings=settings, question=row.question
    )


# ---------------------------------------------------------------------------- schedules


def _schedule_out(row: ScheduleRow, zone: str) -> ScheduleOut:
    return ScheduleOut(
        id=row.id,
        saved_question_id=row.saved_question_id,
        title=row.title,
        cadence="weekly" if row.cadence == "weekly" else "daily",
        weekday=row.weekday,
        hour=row.hour,
        timezone=zone,
        channel_id=row.channel_id,
        channel=row.channel,
        enabled=row.enabled,
        next_run_at=row.next_run_at,
        last_run_at=row.last_run_at,
        last_error=row.last_error,
        created_at=row.created_at,
    )


def _schedule_target(row: ScheduleRow) -> Target:
    return Target("report_schedule", row.id, row.title, row.tenant_id)


def _schedule_snapshot(row: ScheduleRow) -> dict[str, Any]:
    return {
        "saved_question_id": row.saved_question_id,
        "cadence": row.cadence,
        "weekday": row.weekday,
        "hour": row.hour,
        "channel_id": row.channel_id,
        "enabled": row.enabled,
    }


async def _own_schedule(
    session: AsyncSession, principal: Principal, schedule_id: int
) -> ScheduleRow:
    row = await repository.schedule(session, schedule_id, nlq.owner_of(principal))
    if row is None:
        raise ScheduleNotFound(schedule_id)
    return row


async def create_schedule(
    session: AsyncSession,
    principal: Principal,
    question_id: int,
    data: ScheduleIn,
    settings: Settings,
    now: datetime | None = None,
) -> ScheduleOut:
    require_staff(principal)
    question = await _own_question(session, principal, question_id)
    if data.cadence == "weekly" and data.weekday is None:
        raise WeekdayNeeded()
    if data.cadence == "daily" and data.weekday is not None:
        raise WeekdayNotTaken()
    if not await repository.channel_exists(session, data.channel):
        raise ChannelNotFound(data.channel)
    zone = await _zone_of(session, question.tenant_id, settings)
    first = next_run(data.cadence, data.weekday, data.hour, ZoneInfo(zone), now or _now())
    schedule_id = await repository.insert_schedule(
        session,
        {
            "saved_question_id": question.id,
            "cadence": data.cadence,
            "weekday": data.weekday,
            "hour": data.hour,
            "channel_id": data.channel,
            "next_run_at": first,
        },
    )
    row = await _own_schedule(session, principal, schedule_id)
    await audit.record(
        session, "report_schedule.create", _schedule_target(row), after=_schedule_snapshot(row)
    )
    return _schedule_out(row, zone)


async def list_schedules(
    session: AsyncSession, principal: Principal, settings: Settings
) -> list[ScheduleOut]:
    require_staff(principal)
    rows = await repository.schedules(session, nlq.owner_of(principal))
    return [_schedule_out(r, await _zone_of(session, r.tenant_id, settings)) for r in rows]


async def update_schedule(
    session: AsyncSession,
    principal: Principal,
    schedule_id: int,
    data: ScheduleUpdate,
    settings: Settings,
    now: datetime | None = None,
) -> ScheduleOut:
    """Pause or resume; a resumed report next runs at its next hour from now."""
    require_staff(principal)
    row = await _own_schedule(session, principal, schedule_id)
    zone = await _zone_of(session, row.tenant_id, settings)
    next_at = row.next_run_at
    if data.enabled and not row.enabled:
        next_at = next_run(row.cadence, row.weekday, row.hour, ZoneInfo(zone), now or _now())
    await repository.set_enabled(session, schedule_id, data.enabled, next_at)
    updated = await _own_schedule(session, principal, schedule_id)
    if updated.enabled != row.enabled:
        await audit.record(
            session,
            "report_schedule.update",
            _schedule_target(updated),
            before={"enabled": row.enabled},
            after={"enabled": updated.enabled},
        )
    return _schedule_out(updated, zone)


async def delete_schedule(session: AsyncSession, principal: Principal, schedule_id: int) -> None:
    require_staff(principal)
    row = await _own_schedule(session, principal, schedule_id)
    await repository.delete_schedule(session, schedule_id)
    await audit.record(
        session, "report_schedule.delete", _schedule_target(row), before=_schedule_snapshot(row)
    )


async def channel_choices(session: AsyncSession, principal: Principal) -> list[ChannelChoice]:
    """The alert channels a report may go to: names and kinds, never their addresses."""
    require_staff(principal)
    return [
        ChannelChoice(
            id=c.id,
            name=c.name,
            kind=c.kind,
            language="zh" if c.language == "zh" else "en",
            enabled=c.enabled,
        )
        for c in await repository.channel_choices(session)
    ]


def _now() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------------------- running


async def owner_principal(conn: AsyncConnection, question: QuestionRow) -> Principal | None:
    """Who a saved question runs as: its owner as the owner is now. None when the owner may
    no longer ask (its account removed, disabled or given another role or partner; its
    partner disabled)."""
    try:
        role = Role(question.owner.split(":", 1)[0])
    except ValueError:
        return None
    principal = Principal(role, question.tenant_id, question.user_id)
    if nlq.owner_of(principal) != question.owner:
        return None
    if question.user_id is not None:
        account = await repository.account(conn, question.user_id)
        same = account is not None and (account.role, account.tenant_id) == (
            role.value,
            question.tenant_id,
        )
        return principal if same and account is not None and not account.disabled else None
    if role is Role.PARTNER:
        if question.tenant_id is None:
            return None
        return principal if await repository.tenant_enabled(conn, question.tenant_id) else None
    return principal if role is Role.ADMIN else None


def schedule_zone(due: Due, default: str) -> ZoneInfo:
    return ZoneInfo(zone_name(due.tenant_zone, default))
