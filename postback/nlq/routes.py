"""`POST /api/nlq`: questions in Chinese or English. Admin token or a partner's API key."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from postback.auth import Auth
from postback.deps import AppSettings
from postback.errors import error_body
from postback.nlq import service
from postback.nlq.plan import CannotAnswer
from postback.nlq.schemas import NlqAnswer, NlqQuestion, NlqRefusal

router = APIRouter(prefix="/api", tags=["questions"])


def refusal_body(exc: CannotAnswer) -> dict[str, object]:
    body = error_body([{"field": "question", "message": exc.message}])
    body["suggestions"] = exc.suggestions
    body["choices"] = [{"label": c.label, "question": c.question} for c in exc.choices]
    return body


@router.post(
    "/nlq",
    response_model=NlqAnswer,
    responses={422: {"model": NlqRefusal, "description": "Not understood; suggestions given"}},
)
async def ask(
    body: NlqQuestion, principal: Auth, settings: AppSettings, request: Request
) -> NlqAnswer | JSONResponse:
    """Answer a question about conversions, asked in Chinese or English."""
    async with service.reporting_connection(request.app.state) as conn:
        try:
            return await service.answer(
                conn,
                principal,
                body.question,
                settings=settings,
                conversation=body.conversation,
                edit=body.edit,
            )
        except CannotAnswer as exc:
            return JSONResponse(refusal_body(exc), status_code=422)
