"""Questions in, answers out: the JSON of `POST /api/nlq`."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field, StringConstraints

from postback.nlq.plan import MAX_QUESTION_CHARS
from postback.tenants.schemas import NO_NUL

QuestionText = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=MAX_QUESTION_CHARS, pattern=NO_NUL
    ),
]


class NlqQuestion(BaseModel):
    question: QuestionText = Field(
        description="A question in Chinese or English", examples=["昨天每个offer的佣金是多少？"]
    )
    conversation: UUID | None = Field(
        default=None,
        description="The `conversation` of an earlier answer: the question is read as a "
        "follow-up of that answer's question (a question complete on its own starts over)",
    )


class ChoiceOut(BaseModel):
    """Another reading of the question, and the question that asks it."""

    label: str
    question: str


class Chart(BaseModel):
    """How to draw the rows: x is a column name, y the series. Without x (no breakdown), the
    y columns of the one row are drawn side by side (a comparison's two periods)."""

    type: Literal["bar", "line", "pie", "table", "number"]
    x: str | None
    y: list[str]
    title: str


class NlqAnswer(BaseModel):
    question: str
    language: Literal["zh", "en"]
    interpretation: str = Field(description="How the question was understood, in its language")
    sql: str = Field(description="The SQL that ran (after the safety check)")
    columns: list[str]
    headers: list[str] = Field(
        default_factory=list, description="Each column's header in the question's language"
    )
    units: list[str | None] = Field(
        default_factory=list, description="Each column's unit: a currency, %, or null"
    )
    rows: list[list[Any]] = Field(description="Money as decimal strings, times as ISO 8601")
    chart: Chart
    elapsed_ms: float
    source: Literal["engine", "llm"]
    ignored: list[str] = Field(
        default_factory=list, description="Words of the question that were not used"
    )
    choices: list[ChoiceOut] = Field(
        default_factory=list, description="Other readings of the question, to ask instead"
    )
    conversation: UUID | None = Field(
        default=None, description="Send it with the next question to ask a follow-up"
    )
    follow_up: bool = Field(
        default=False, description="Whether the question was read against the previous one"
    )


class NlqErrorItem(BaseModel):
    field: str
    message: str


class NlqRefusal(BaseModel):
    """422: the question could not be answered exactly; try one of the suggestions."""

    status: Literal["error"] = "error"
    errors: list[NlqErrorItem]
    suggestions: list[str]
    choices: list[ChoiceOut] = Field(
        default_factory=list, description="Readings of an ambiguous question to choose from"
    )
