"""Domain errors carry their HTTP status and a message; one handler renders them all."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException


class PostbackError(Exception):
    status_code = 400

    def __init__(self, message: str, field: str = "request", headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.headers = headers


class NotAuthenticated(PostbackError):
    status_code = 401

    def __init__(self, message: str = "send Authorization: Bearer <token>") -> None:
        super().__init__(message, "authorization", {"WWW-Authenticate": "Bearer"})


class Forbidden(PostbackError):
    status_code = 403


class NotFound(PostbackError):
    status_code = 404


class Conflict(PostbackError):
    status_code = 409


class InvalidInput(PostbackError):
    status_code = 422


def error_body(errors: list[dict[str, str]]) -> dict[str, Any]:
    return {"status": "error", "errors": errors}


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("query", "body", "path", "header")]
    return ".".join(parts) or "request"


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(PostbackError)
    async def _domain(_: Request, exc: PostbackError) -> JSONResponse:
        body = error_body([{"field": exc.field, "message": exc.message}])
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": _field(tuple(e["loc"])), "message": e["msg"]} for e in exc.errors()]
        return JSONResponse(error_body(errors), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        body = error_body([{"field": "request", "message": str(exc.detail)}])
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)
