"""What the conversion search and conversion pages show, for the admin and the dashboard alike
(each renders it in its own frame): the search read from the page's query string, with every
problem named instead of an error page, and a conversion's history."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import orjson
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import QueryParams

from postback.auth import Principal
from postback.conversions import service
from postback.conversions.schemas import ConversionHistory, ConversionPage, ConversionQuery
from postback.errors import PostbackError
from postback.web.labels import LANG_PARAM
from postback.web.render import environment


def payload_text(payload: object) -> str:
    """A payload as indented JSON with its characters as sent (CJK readable), as plain text:
    the environment escapes it like any other value."""
    return orjson.dumps(payload, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode()


environment.filters["payload_text"] = payload_text

PAGE_SIZE = 50
STATUSES = ("approved", "pending", "rejected", "paid", "other", "unknown")


@dataclass(frozen=True, slots=True)
class Problem:
    field: str
    message: str


@dataclass(frozen=True, slots=True)
class SearchPage:
    """The form as typed, its problems, and the results (None when nothing was asked)."""

    values: Mapping[str, str]
    problems: list[Problem] = field(default_factory=list)
    results: ConversionPage | None = None
    zone: str = "UTC"

    @property
    def advanced(self) -> bool:
        """Whether a filter beyond the search box is set (its part of the form opens)."""
        return any(v.strip() for k, v in self.values.items() if k not in ("q", "page"))

    @property
    def pages(self) -> int:
        if self.results is None:
            return 0
        return max(1, -(-self.results.total // self.results.page_size))

    def page_url(self, path: str, page: int) -> str:
        """This search at another page."""
        kept = {k: v for k, v in self.values.items() if v and k != "page"}
        return f"{path}?{urlencode({**kept, 'page': page})}"


def _problems(error: ValidationError) -> list[Problem]:
    return [
        Problem(".".join(str(part) for part in e["loc"]) or "request", e["msg"])
        for e in error.errors()
    ]


async def search(
    session: AsyncSession, principal: Principal, params: QueryParams, default_zone: ZoneInfo
) -> SearchPage:
    values = {k: v for k, v in params.items() if k != LANG_PARAM}
    zone = await service.display_zone(session, principal.tenant_id, default_zone)
    repeated = sorted({k for k, _ in params.multi_items() if len(params.getlist(k)) > 1})
    if repeated:
        return SearchPage(values, [Problem(k, "is given more than once") for k in repeated])
    if not any(v.strip() for k, v in values.items() if k != "page"):
        return SearchPage(values, zone=zone)
    try:
        query = ConversionQuery.model_validate({"page_size": PAGE_SIZE, **values})
        results = await service.list_conversions(session, principal, query, default_zone)
    except ValidationError as exc:
        return SearchPage(values, _problems(exc), zone=zone)
    except PostbackError as exc:
        return SearchPage(values, [Problem(exc.field, exc.message)], zone=zone)
    return SearchPage(values, results=results, zone=zone)


@dataclass(frozen=True, slots=True)
class ConversionPageView:
    history: ConversionHistory
    chosen: int
    zone: str


async def conversion(
    session: AsyncSession, principal: Principal, pk: int, default_zone: ZoneInfo
) -> ConversionPageView:
    """A conversion's page; NotFound (the one error a page turns into its 404) when the row
    is not there or not the principal's."""
    history = await service.history(session, principal, pk)
    tenant_id = await service.tenant_of(session, history)
    zone = await service.display_zone(session, tenant_id, default_zone)
    return ConversionPageView(history, pk, zone)
