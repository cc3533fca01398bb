"""All SQL of saved questions and report schedules.

Every read and change of a saved question (and of a schedule, through its question) names
the owner, so another asker's id finds nothing. Requests work through their session; the
report job through connections of the engine: one short transaction claims the due
schedules (SKIP LOCKED) and moves each to its next run before anything is sent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

Db = AsyncSession | AsyncConnection


@dataclass(frozen=True, slots=True)
class QuestionRow:
    id: int
    owner: str
    tenant_id: int | None
    user_id: int | None
    title: str
    question: str
    language: str
    plan: dict[str, Any]
    position: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ScheduleRow:
    id: int
    saved_question_id: int
    title: str
    tenant_id: int | None
    cadence: str
    weekday: int | None
    hour: int
    channel_id: int
    channel: str
    enabled: bool
    next_run_at: datetime
    last_run_at: datetime | None
    last_error: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ChannelChoiceRow:
    id: int
    name: str
    kind: str
    language: str
    enabled: bool


@dataclass(frozen=True, slots=True)
class Due:
    """A claimed schedule: what running and sending it needs."""

    schedule_id: int
    cadence: str
    weekday: int | None
    hour: int
    tenant_zone: str | None
    channel_enabled: bool
    question: QuestionRow
    channel: dict[str, Any]


_QUESTIONS = """
SELECT q.id, q.owner, q.tenant_id, q.user_id, q.title, q.question, q.language,
       q.plan::text AS plan, q.position, q.created_at, q.updated_at
FROM saved_question q
"""


def _question(row: Any) -> QuestionRow:
    values = row._asdict()
    values["plan"] = orjson.loads(values["plan"])
    return QuestionRow(**values)


async def insert_question(
    session: AsyncSession,
    *,
    owner: str,
    tenant_id: int | None,
    user_id: int | None,
    title: str,
    question: str,
    language: str,
    plan: dict[str, Any],
) -> int:
    """A new saved question, placed after the owner's others."""
    row = (
        await session.execute(
            text(
                "INSERT INTO saved_question"
                " (owner, tenant_id, user_id, title, question, language, plan, position)"
                " VALUES (:owner, :tenant_id, :user_id, :title, :question, :language,"
                " CAST(:plan AS jsonb),"
                " (SELECT coalesce(max(position) + 1, 0) FROM saved_question"
                "  WHERE owner = :owner)) RETURNING id"
            ),
            {
                "owner": owner,
                "tenant_id": tenant_id,
                "user_id": user_id,
                "title": title,
                "question": question,
                "language": language,
                "plan": orjson.dumps(plan).decode(),
            },
        )
    ).one()
    return int(row.id)


async def questions(session: AsyncSession, owner: str) -> list[QuestionRow]:
    rows = await session.execute(
        text(_QUESTIONS + " WHERE q.owner = :owner ORDER BY q.position, q.id"), {"owner": owner}
    )
    return [_question(r) for r in rows]


async def question(session: AsyncSession, question_id: int, owner: str) -> QuestionRow | None:
    row = (
        await session.execute(
            text(_QUESTIONS + " WHERE q.id = :id AND q.owner = :owner"),
            {"id": question_id, "owner": owner},
        )
    ).first()
    return None if row is None else _question(row)


async def update_question(
    session: AsyncSession, question_id: int, owner: str, changes: dict[str, Any]
) -> None:
    await session.execute(
        text(
            "UPDATE saved_question SET title = coalesce(:title, title),"
            " position = coalesce(:position, position), updated_at = now()"
            " WHERE id = :id AND owner = :owner"
        ),
        {
            "title": changes.get("title"),
            "position": changes.get("position"),
            "id": question_id,
            "owner": owner,
        },
    )


async def delete_question(session: AsyncSession, question_id: int, owner: str) -> None:
    await session.execute(
        text("DELETE FROM saved_question WHERE id = :id AND owner = :owner"),
        {"id": question_id, "owner": owner},
    )


# ---------------------------------------------------------------------------- schedules


_SCHEDULE = """
SELECT s.id, s.saved_question_id, q.title, q.tenant_id, s.cadence, s.weekday, s.hour,
       s.channel_id, c.name AS channel, s.enabled, s.next_run_at, s.last_run_at, s.last_error,
       s.created_at
FROM report_schedule s
JOIN saved_question q ON q.id = s.saved_question_id
JOIN alert_channel c ON c.id = s.channel_id
WHERE q.owner = :owner
"""


async def channel_choices(session: AsyncSession) -> list[ChannelChoiceRow]:
    rows = await session.execute(
        text("SELECT id, name, kind, language, enabled FROM alert_channel ORDER BY name, id")
    )
    return [ChannelChoiceRow(**r._asdict()) for r in rows]


async def channel_exists(session: AsyncSession, channel_id: int) -> bool:
    found = await session.execute(
        text("SELECT 1 FROM alert_channel WHERE id = :id"), {"id": channel_id}
    )
    return found.first() is not None


async def insert_schedule(session: AsyncSession, values: dict[str, Any]) -> int:
    row = (
        await session.execute(
            text(
                "INSERT INTO report_schedule"
                " (saved_question_id, cadence, weekday, hour, channel_id, next_run_at)"
                " VALUES (:saved_question_id, :cadence, :weekday, :hour, :channel_id,"
                " :next_run_at) RETURNING id"
            ),
            values,
        )
    ).one()
    return int(row.id)


async def schedules(session: AsyncSession, owner: str) -> list[ScheduleRow]:
    rows = await session.execute(text(_SCHEDULE + " ORDER BY s.id"), {"owner": owner})
    return [ScheduleRow(**r._asdict()) for r in rows]


async def schedule(session: AsyncSession, schedule_id: int, owner: str) -> ScheduleRow | None:
    row = (
        await session.execute(
            text(_SCHEDULE + " AND s.id = :id"), {"owner": owner, "id": schedule_id}
        )
    ).first()
    return None if row is None else ScheduleRow(**row._asdict())


async def set_enabled(
    session: AsyncSession, schedule_id: int, enabled: bool, next_run_at: datetime
) -> None:
    await session.execute(
        text(
            "UPDATE report_schedule SET enabled = :enabled, next_run_at = :next_run_at,"
            " updated_at = now() WHERE id = :id"
        ),
        {"id": schedule_id, "enabled": enabled, "next_run_at": next_run_at},
    )


async def delete_schedule(session: AsyncSession, schedule_id: int) -> None:
    await session.execute(text("DELETE FROM report_schedule WHERE id = :id"), {"id": schedule_id})


async def tenant_timezone(db: Db, tenant_id: int) -> str | None:
    zone = (
        await db.execute(text("SELECT timezone FROM tenant WHERE id = :id"), {"id": tenant_id})
    ).scalar()
    return None if zone is None else str(zone)


# ---------------------------------------------------------------------------- the job


_DUE = """
SELECT s.id AS schedule_id, s.cadence, s.weekday, s.hour, t.timezone AS tenant_zone,
       q.id, q.owner, q.tenant_id, q.user_id, q.title, q.question, q.language,
       q.plan::text AS plan, q.position, q.created_at, q.updated_at,
       c.id AS channel_id, c.name AS channel_name, c.kind AS channel_kind, c.url, c.secret,
       c.recipients, c.language AS channel_language, c.enabled AS channel_enabled
FROM report_schedule s
JOIN saved_question q ON q.id = s.saved_question_id
JOIN alert_channel c ON c.id = s.channel_id
LEFT JOIN tenant t ON t.id = q.tenant_id
WHERE s.enabled AND s.next_run_at <= :now
ORDER BY s.next_run_at, s.id
LIMIT :limit
FOR UPDATE OF s SKIP LOCKED
"""
_CHANNEL = ("channel_id", "channel_name", "channel_kind", "url", "secret", "recipients")
_HEAD = ("schedule_id", "cadence", "weekday", "hour", "tenant_zone", "channel_enabled")


async def claim_due(
    conn: AsyncConnection,
    now: datetime,
    limit: int,
    next_run: Callable[[Due], datetime],
) -> list[Due]:
    """The due schedules no other transaction holds, each moved on to `next_run(due)`: once
    this transaction commits, no other run finds them due."""
    claimed = []
    for row in await conn.execute(text(_DUE), {"now": now, "limit": limit}):
        values = row._asdict()
        head = {name: values.pop(name) for name in _HEAD}
        channel = {name: values.pop(name) for name in _CHANNEL}
        channel["language"] = values.pop("channel_language")
        values["plan"] = orjson.loads(values["plan"])
        claimed.append(Due(**head, question=QuestionRow(**values), channel=channel))
    for due in claimed:
        await conn.execute(
            text("UPDATE report_schedule SET next_run_at = :next WHERE id = :id"),
            {"id": due.schedule_id, "next": next_run(due)},
        )
    return claimed


async def record_run(
    conn: AsyncConnection, schedule_id: int, at: datetime, error: str | None
) -> None:
    """When the schedule last ran, and its error (None: it was sent)."""
    await conn.execute(
        text("UPDATE report_schedule SET last_run_at = :at, last_error = :error WHERE id = :id"),
        {"id": schedule_id, "at": at, "error": error},
    )


@dataclass(frozen=True, slots=True)
class Account:
    """A personal account as it is now: a saved question runs only while it may."""

    role: str
    tenant_id: int | None
    disabled: bool


async def account(conn: AsyncConnection, user_id: int) -> Account | None:
    row = (
        await conn.execute(
            text(
                "SELECT u.role, u.tenant_id, u.disabled_at IS NOT NULL"
                " OR (t.id IS NOT NULL AND NOT t.enabled) AS disabled"
                " FROM app_user u LEFT JOIN tenant t ON t.id = u.tenant_id WHERE u.id = :id"
            ),
            {"id": user_id},
        )
    ).first()
    return None if row is None else Account(**row._asdict())


async def tenant_enabled(conn: AsyncConnection, tenant_id: int) -> bool:
    found = await conn.execute(text("SELECT enabled FROM tenant WHERE id = :id"), {"id": tenant_id})
    return bool(found.scalar())
