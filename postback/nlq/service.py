"""Answering a question, stage by stage: lex it, plan it, turn the plan into SQL, check the
SQL with the guard, run it read-only in the repository, and explain what was computed. When
the engine does not understand the question and an LLM is configured, the LLM writes the SQL
instead, and it passes the same guard and runs the same way."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import asyncpg
import structlog

from postback.auth import Principal
from postback.errors import InvalidInput, NotFound, PostbackError
from postback.nlq import edits, explain, guard, lexer, llm, planner, repository, sqlgen
from postback.nlq.plan import (
    CannotAnswer,
    Offer,
    Partner,
    Plan,
    Vocabulary,
    plan_from_json,
    plan_to_json,
    refuse,
)
from postback.nlq.schemas import Chart, Chips, ChoiceOut, NlqAnswer, PlanEdit
from postback.settings import Settings

log = structlog.get_logger(__name__)

# Names are read again after this long, or sooner when a question has a word they lack and
# conversions arrived since they were read.
VOCABULARY_SECONDS = 300.0
VOCABULARY_ROWS = 50_000
# A conversation can be followed up this long after its last question.
CONVERSATION_SECONDS = 3600


class QueryTooSlow(PostbackError):
    status_code = 503

    def __init__(self) -> None:
        super().__init__("the question took too long to answer; narrow the period", "question")


@asynccontextmanager
async def reporting_connection(app_state: Any) -> AsyncIterator[asyncpg.Connection]:
    """A plain asyncpg connection from the app's read pool, for `answer()`."""
    async with app_state.db.engine.connect() as connection:
        raw = await connection.get_raw_connection()
        yield raw.driver_connection


# ---------------------------------------------------------------------------- names


@dataclass
class _Cached:
    vocabulary: Vocabulary
    loaded: float
    newest: repository.Newest | None  # the newest row when the names were read


_vocabularies: dict[int | None, _Cached] = {}


def forget_vocabulary() -> None:
    """Drop the names read from the data (the next question reads them again)."""
    _vocabularies.clear()


async def _load_vocabulary(conn: asyncpg.Connection, tenant_id: int | None) -> Vocabulary:
    rows = await repository.names(conn, tenant_id, limit=VOCABULARY_ROWS)
    offers = {Offer(_text(r.offer_id), str(r.offer_name)) for r in rows if r.offer_name is not None}
    partners = {
        Partner(str(r.partner), _text(r.partner_name)) for r in rows if r.partner is not None
    }
    return Vocabulary(
        offers=tuple(sorted(offers, key=lambda o: (o.name, o.offer_id or ""))),
        partners=tuple(sorted(partners, key=lambda p: p.slug)),
    )


def _text(value: object) -> str | None:
    return None if value is None else str(value)


async def vocabulary(
    conn: asyncpg.Connection, tenant_id: int | None, *, fresh: bool = False
) -> tuple[Vocabulary, bool]:
    """The offers and partners the asker may see, and whether they were read just now.
    They are kept a while; `fresh` reads them again if conversions arrived since."""
    cached = _vocabularies.get(tenant_id)
    if cached is not None:
        if not fresh and time.monotonic() - cached.loaded < VOCABULARY_SECONDS:
            return cached.vocabulary, False
        if fresh and await repository.newest_conversion(conn, tenant_id) == cached.newest:
            return cached.vocabulary, False
    newest = await repository.newest_conversion(conn, tenant_id)
    loaded = await _load_vocabulary(conn, tenant_id)
    _vocabularies[tenant_id] = _Cached(loaded, time.monotonic(), newest)
    return loaded, True


# ---------------------------------------------------------------------------- answer


async def _zone_name(conn: asyncpg.Connection, principal: Principal, settings: Settings) -> str:
    """The reporting timezone: the partner's own when it has one, else POSTBACK_TIMEZONE."""
    if principal.tenant_id is None:
        return settings.timezone
    own = await repository.tenant_timezone(conn, principal.tenant_id)
    if own:
        try:
            ZoneInfo(own)
        except (ZoneInfoNotFoundError, ValueError):
            log.warning("nlq_tenant_timezone_unknown", tenant_id=principal.tenant_id, zone=own)
        else:
            return str(own)
    return settings.timezone


def _json(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


async def _run(conn: asyncpg.Connection, sql: str) -> tuple[list[str], list[list[object]]]:
    try:
        columns, rows = await repository.run(conn, sql)
    except asyncpg.QueryCanceledError:
        raise QueryTooSlow() from None
    return columns, [[_json(v) for v in row] for row in rows]


def understand(
    question: str,
    *,
    now: datetime,
    zone: ZoneInfo,
    vocabulary: Vocabulary,
    tenant_id: int | None = None,
    context: Plan | None = None,
) -> Plan:
    """The plan answering `question` (lexer → planner), a follow-up of `context` when it
    reads as one. Raises CannotAnswer."""
    lexed = lexer.lex(question, now=now, zone=zone, vocabulary=vocabulary)
    return planner.plan(lexed, tenant_id=tenant_id, context=context)


class ConversationNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("no such conversation, or it has expired", "conversation")


def owner_of(principal: Principal) -> str:
    """Whose a conversation is: the role, the partner and the personal account together."""
    return f"{principal.role.value}:{principal.tenant_id or ''}:{principal.user_id or ''}"


class QuestionMissing(InvalidInput):
    def __init__(self) -> None:
        super().__init__("a question is required (or an edit of a conversation)", "question")


class EditWithoutConversation(InvalidInput):
    def __init__(self) -> None:
        super().__init__("an edit changes a conversation's answer: send its id", "conversation")


async def conversation_plan(
    conn: asyncpg.Connection, principal: Principal, conversation: UUID
) -> tuple[dict[str, Any], str]:
    """The plan of the conversation's last answer (as `plan_to_json` wrote it) and its last
    question, when the conversation is `principal`'s own and has not expired. Raises
    ConversationNotFound."""
    found = await repository.conversation(conn, conversation, owner_of(principal))
    if found is None:
        raise ConversationNotFound()
    return dict(found.plan), found.question


async def _context(
    conn: asyncpg.Connection, principal: Principal, conversation: UUID | None, zone: ZoneInfo
) -> tuple[Plan, str] | None:
    if conversation is None:
        return None
    kept, question = await conversation_plan(conn, principal, conversation)
    try:
        plan = plan_from_json(kept, tenant_id=principal.tenant_id)
    except (KeyError, ValueError, TypeError):
        raise ConversationNotFound() from None
    return edits.in_zone(plan, zone), question


async def answer(
    conn: asyncpg.Connection,
    principal: Principal,
    question: str | None,
    *,
    settings: Settings,
    now: datetime | None = None,
    conversation: UUID | None = None,
    remember: bool = True,
    edit: PlanEdit | None = None,
) -> NlqAnswer:
    """Answer `question` within what `principal` may see, as a follow-up in `conversation`
    (the asker's own) when given, or the conversation's last answer changed by `edit`; with
    `remember`, keep its plan for a follow-up (the answer's `conversation`). Raises
    CannotAnswer, ConversationNotFound or InvalidInput."""
    started = time.perf_counter()
    now = now or datetime.now(UTC)
    if edit is not None and conversation is None:
        raise EditWithoutConversation()
    if edit is None and question is None:
        raise QuestionMissing()
    zone_name = await _zone_name(conn, principal, settings)
    zone = ZoneInfo(zone_name)
    context = await _context(conn, principal, conversation, zone)
    if edit is not None and context is not None:
        plan = edits.edited(context[0], now=now, zone=zone, **edit.model_dump(exclude_none=True))
        question = context[1]
    else:
        assert question is not None
        try:
            plan = await _understood(
                conn, principal, question, now, zone, context[0] if context else None
            )
        except CannotAnswer as exc:
            if llm.enabled(settings) and exc.unknown:
                return await _from_llm(
                    conn, principal, question, exc, settings, now, zone_name, started
                )
            raise
    result = await _from_plan(conn, principal, question, plan, zone_name, started)
    result.follow_up = plan.follow_up
    result.edited = edit is not None
    if not remember:
        return result
    kept = plan_to_json(plan)
    owner = owner_of(principal)
    if conversation is None:
        conversation = await repository.start_conversation(
            conn, owner, principal.tenant_id, kept, question, seconds=CONVERSATION_SECONDS
        )
    else:
        await repository.continue_conversation(
            conn, conversation, owner, kept, question, seconds=CONVERSATION_SECONDS
        )
    result.conversation = conversation
    return result


async def answer_plan(
    conn: asyncpg.Connection,
    principal: Principal,
    kept: dict[str, Any],
    *,
    settings: Settings,
    question: str,
    now: datetime | None = None,
) -> NlqAnswer:
    """Answer a kept plan (a saved question) now, within what `principal` may see: its
    periods read again ("yesterday" is the day before now). Raises CannotAnswer when the
    plan is not one `plan_to_json` wrote."""
    started = time.perf_counter()
    now = now or datetime.now(UTC)
    zone_name = await _zone_name(conn, principal, settings)
    try:
        plan = plan_from_json(kept, tenant_id=principal.tenant_id)
    except (KeyError, ValueError, TypeError):
        raise refuse(
            "zh" if kept.get("language") == "zh" else "en",
            "保存的问题无法读取，请重新提问。",
            "The saved question cannot be read; ask it again.",
        ) from None
    plan = edits.refreshed(plan, now, ZoneInfo(zone_name))
    return await _from_plan(conn, principal, question, plan, zone_name, started)


def chips(plan: Plan) -> Chips:
    """The plan's parts the /ask page shows as chips."""
    zh = plan.language == "zh"
    period = plan.period
    label = None
    if period is not None:
        label = period.phrase or (f"{period.start:%Y-%m-%d} – {period.end:%Y-%m-%d}")
    return Chips(
        measures=[m.key for m in plan.metrics],
        breakdown=plan.breakdown.key if plan.breakdown is not None else None,
        unit=plan.unit,
        money=any(m.money for m in plan.metrics),
        period=edits.period_key(period),
        period_label=label,
        compare=plan.previous is not None,
        filters=[f.zh if zh else f.en for f in plan.filters],
        rejections=any(m.source == "rejections" for m in plan.metrics),
    )


async def _understood(
    conn: asyncpg.Connection,
    principal: Principal,
    question: str,
    now: datetime,
    zone: ZoneInfo,
    context: Plan | None = None,
) -> Plan:
    """The plan of `question` with the names in the data; with fresher names when a word was
    not understood (ignored, or refused as an unknown name) and conversions arrived since
    the names were read (a new offer, say)."""
    tenant_id = principal.tenant_id
    names, fresh = await vocabulary(conn, tenant_id)
    try:
        plan = understand(
            question, now=now, zone=zone, vocabulary=names, tenant_id=tenant_id, context=context
        )
    except CannotAnswer as exc:
        if not exc.unknown or fresh:
            raise
    else:
        if not plan.ignored or fresh:
            return plan
    names, _ = await vocabulary(conn, tenant_id, fresh=True)
    return understand(
        question, now=now, zone=zone, vocabulary=names, tenant_id=tenant_id, context=context
    )


async def _from_plan(
    conn: asyncpg.Connection,
    principal: Principal,
    question: str,
    plan: Plan,
    zone_name: str,
    started: float,
) -> NlqAnswer:
    day_cells = sqlgen.answerable_from_days(plan, zone_name) and (
        await repository.has_day_cells(conn, zone_name)
    )
    try:
        sql = guard.guard(
            sqlgen.to_sql(plan, zone_name, day_cells=day_cells), tenant_id=principal.tenant_id
        )
    except guard.UnsafeQuery as exc:  # the engine's own SQL: a bug, never the asker's fault
        log.error("nlq_engine_sql_refused", question=question, reason=str(exc))
        raise refuse(
            plan.language,
            "这个问题生成的查询没有通过安全检查。",
            "The query for this question did not pass the safety check.",
        ) from None
    try:
        columns, rows = await _run(conn, sql)
    except asyncpg.PostgresError as exc:
        log.error("nlq_engine_sql_failed", question=question, error=str(exc))
        raise refuse(
            plan.language, "这个问题的查询执行失败。", "The query for this question failed."
        ) from None
    period = plan.period.phrase if plan.period is not None else ""
    return NlqAnswer(
        question=question,
        language=plan.language,
        interpretation=explain.interpretation(
            plan, zone_name, partner_only=not principal.sees_every_partner
        ),
        sql=sql,
        columns=columns,
        headers=explain.headers(plan, columns),
        units=explain.units(plan, columns),
        rows=rows,
        chart=explain.chart(plan, columns, period),
        elapsed_ms=round((time.perf_counter() - started) * 1000, 2),
        source="engine",
        ignored=plan.ignored,
        choices=[ChoiceOut(label=c.label, question=c.question) for c in plan.choices],
        chips=chips(plan),
    )


async def _from_llm_plan(
    conn: asyncpg.Connection,
    principal: Principal,
    question: str,
    planned: dict[str, object],
    refusal: CannotAnswer,
    now: datetime,
    zone_name: str,
    started: float,
) -> NlqAnswer:
    """The LLM's plan, written as a question in the engine's words and planned by the same
    planner (names matched against the asker's data), then run like any plan."""
    language = lexer.language_of(question)
    restated = llm.plan_question(planned)  # LlmUnavailable: caught by the caller
    try:
        plan = await _understood(conn, principal, restated, now, ZoneInfo(zone_name))
    except CannotAnswer as exc:
        raise CannotAnswer(
            f"大模型给出的计划无法执行：{exc.message}"
            if language == "zh"
            else f"The LLM's plan could not be answered: {exc.message}",
            refusal.suggestions,
            language,
        ) from None
    plan.language = language
    answer = await _from_plan(conn, principal, question, plan, zone_name, started)
    note = (
        f"由大模型理解为“{restated}”，并经引擎校验："
        if language == "zh"
        else f"Read by the LLM as “{restated}”, checked by the engine: "
    )
    answer.interpretation = note + answer.interpretation
    answer.source = "llm"
    return answer


async def _from_llm(
    conn: asyncpg.Connection,
    principal: Principal,
    question: str,
    refusal: CannotAnswer,
    settings: Settings,
    now: datetime,
    zone_name: str,
    started: float,
) -> NlqAnswer:
    language = lexer.language_of(question)
    zh = language == "zh"
    try:
        content = await llm.generate(
            question, language=language, settings=settings, now=now, zone=zone_name
        )
        planned = llm.extract_plan(content)
        if planned is not None:
            return await _from_llm_plan(
                conn, principal, question, planned, refusal, now, zone_name, started
            )
        sql = guard.guard(llm.extract_sql(content), tenant_id=principal.tenant_id)
    except llm.LlmUnavailable as exc:
        log.warning("nlq_llm_unavailable", reason=str(exc))
        raise refusal from None
    except guard.UnsafeQuery as exc:
        raise CannotAnswer(
            f"生成的 SQL 被安全检查拒绝：{exc}" if zh else f"The generated SQL was refused: {exc}",
            refusal.suggestions,
            language,
        ) from None
    try:
        columns, rows = await _run(conn, sql)
    except asyncpg.PostgresError as exc:
        raise CannotAnswer(
            f"生成的 SQL 无法执行：{type(exc).__name__}"
            if zh
            else f"The generated SQL could not run: {type(exc).__name__}",
            refusal.suggestions,
            language,
        ) from None
    note = (
        "此问题由 LLM 生成 SQL 回答（引擎未能解析）；SQL 已通过安全检查，只读执行"
        if zh
        else "Answered with SQL written by the LLM (the engine could not parse the question); "
        "the SQL passed the safety check and ran read-only"
    )
    if not principal.sees_every_partner:
        note += "，仅限你自己的数据" if zh else ", on your own data only"
    return NlqAnswer(
        question=question,
        language=language,
        interpretation=note + ("。" if zh else "."),
        sql=sql,
        columns=columns,
        rows=rows,
        chart=Chart(type="table", x=None, y=columns, title=question[:80]),
        elapsed_ms=round((time.perf_counter() - started) * 1000, 2),
        source="llm",
    )
