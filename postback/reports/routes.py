"""`/api/saved-questions`: the asker's own saved questions (a bearer token or a signed-in
browser with its CSRF token; another asker's id is not found), answered on demand;
`/api/reports`: their schedules to the alert channels (admins and analysts)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response, status
from fastapi.responses import JSONResponse

from postback.audit.routes import Audited
from postback.auth import Auth
from postback.deps import AppSettings, Session
from postback.nlq.plan import CannotAnswer
from postback.nlq.routes import refusal_body
from postback.nlq.schemas import NlqAnswer, NlqRefusal
from postback.nlq.service import reporting_connection
from postback.reports import service
from postback.reports.schemas import (
    BIGINT,
    ChannelChoices,
    SavedQuestionIn,
    SavedQuestionList,
    SavedQuestionOut,
    SavedQuestionUpdate,
    ScheduleIn,
    ScheduleList,
    ScheduleOut,
    ScheduleUpdate,
)

router = APIRouter(prefix="/api/saved-questions", tags=["saved questions"])
reports_router = APIRouter(prefix="/api/reports", tags=["reports"])

QuestionId = Annotated[int, Path(ge=1, le=BIGINT)]
ReportId = Annotated[int, Path(ge=1, le=BIGINT)]


@router.post(
    "",
    response_model=SavedQuestionOut,
    status_code=status.HTTP_201_CREATED,
    responses={404: {"description": "No such conversation of yours, or it has expired"}},
)
async def save_question(
    data: SavedQuestionIn, request: Request, session: Audited, principal: Auth
) -> SavedQuestionOut:
    """Save a conversation's current question, under a title, as the asker's own."""
    async with reporting_connection(request.app.state) as conn:
        return await service.save_question(session, conn, principal, data)


@router.get("", response_model=SavedQuestionList)
async def list_questions(session: Session, principal: Auth) -> SavedQuestionList:
    """The asker's saved questions, in tile order."""
    return SavedQuestionList(items=await service.list_questions(session, principal))


@router.patch("/{saved_question_id}", response_model=SavedQuestionOut)
async def update_question(
    saved_question_id: QuestionId, data: SavedQuestionUpdate, session: Audited, principal: Auth
) -> SavedQuestionOut:
    """Rename a saved question, or move its tile."""
    return await service.update_question(session, principal, saved_question_id, data)


@router.delete("/{saved_question_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_question(
    saved_question_id: QuestionId, session: Audited, principal: Auth
) -> Response:
    """Remove a saved question and its reports."""
    await service.delete_question(session, principal, saved_question_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{saved_question_id}/answer",
    response_model=NlqAnswer,
    responses={422: {"model": NlqRefusal, "description": "It cannot be answered now"}},
)
async def answer_question(
    saved_question_id: QuestionId,
    request: Request,
    session: Session,
    principal: Auth,
    settings: AppSettings,
) -> NlqAnswer | JSONResponse:
    """Answer a saved question now, its relative periods read at this moment."""
    async with reporting_connection(request.app.state) as conn:
        try:
            return await service.answer_question(
                session, conn, principal, saved_question_id, settings
            )
        except CannotAnswer as exc:
            return JSONResponse(refusal_body(exc), status_code=422)


@router.post(
    "/{saved_question_id}/reports",
    response_model=ScheduleOut,
    status_code=status.HTTP_201_CREATED,
)
async def create_report(
    saved_question_id: QuestionId,
    data: ScheduleIn,
    session: Audited,
    principal: Auth,
    settings: AppSettings,
) -> ScheduleOut:
    """Send a saved question's answer to an alert channel daily or weekly (staff only)."""
    return await service.create_schedule(session, principal, saved_question_id, data, settings)


@reports_router.get("", response_model=ScheduleList)
async def list_reports(session: Session, principal: Auth, settings: AppSettings) -> ScheduleList:
    """The asker's scheduled reports, with their next and last runs (staff only)."""
    return ScheduleList(items=await service.list_schedules(session, principal, settings))


@reports_router.get("/channels", response_model=ChannelChoices)
async def list_report_channels(session: Session, principal: Auth) -> ChannelChoices:
    """The alert channels a report may be sent to, by name (staff only)."""
    return ChannelChoices(items=await service.channel_choices(session, principal))


@reports_router.patch("/{report_id}", response_model=ScheduleOut)
async def update_report(
    report_id: ReportId,
    data: ScheduleUpdate,
    session: Audited,
    principal: Auth,
    settings: AppSettings,
) -> ScheduleOut:
    """Pause or resume a report (staff only)."""
    return await service.update_schedule(session, principal, report_id, data, settings)


@reports_router.delete("/{report_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_report(report_id: ReportId, session: Audited, principal: Auth) -> Response:
    """Stop and remove a report (staff only)."""
    await service.delete_schedule(session, principal, report_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
