"""Questions in, answers out: the JSON of `POST /api/nlq`."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from postback.nlq.edits import NO_BREAKDOWN, PeriodKey
from postback.nlq.plan import BREAKDOWNS, MAX_QUESTION_CHARS, METRICS, Unit
from postback.tenants.schemas import NO_NUL

QuestionText = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=MAX_QUESTION_CHARS, pattern=NO_NUL
    ),
]


class PlanEdit(BaseModel):
    """A change to the plan of the conversation's last answer (the chips on /ask); fields
    left out stay as they were."""

    model_config = ConfigDict(extra="forbid")

    measure: str | None = Field(default=None, description="A measure key, e.g. `sales`")
    breakdown: str | None = Field(
        default=None, description=f"A breakdown key, e.g. `offer`, or `{NO_BREAKDOWN}`"
    )
    unit: Unit | None = Field(default=None, description="Money in myr, usd or local")
    period: PeriodKey | None = Field(default=None, description="A period, e.g. `last_week`")
    compare: bool | None = Field(default=None, description="Compare with the period before")
    remove_filter: int | None = Field(
        default=None, ge=0, description="The index of a filter in `chips.filters` to drop"
    )

    @field_validator("measure")
    @classmethod
    def _known_measure(cls, value: str | None) -> str | None:
        if value is not None and value not in METRICS:
            raise ValueError(f"unknown measure; one of: {', '.join(METRICS)}")
        return value

    @field_validator("breakdown")
    @classmethod
    def _known_breakdown(cls, value: str | None) -> str | None:
        if value is not None and value != NO_BREAKDOWN and value not in BREAKDOWNS:
            raise ValueError(f"unknown breakdown; one of: {NO_BREAKDOWN}, {', '.join(BREAKDOWNS)}")
        return value


class NlqQuestion(BaseModel):
    question: QuestionText | None = Field(
        default=None,
        description="A question in Chinese or English (not needed with `edit`)",
        examples=["昨天每个offer的佣金是多少？"],
    )
    conversation: UUID | None = Field(
        default=None,
        description="The `conversation` of an earlier answer: the question is read as a "
        "follow-up of that answer's question (a question complete on its own starts over)",
    )
    edit: PlanEdit | None = Field(
        default=None,
        description="Change the conversation's last answer instead of asking a question",
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


class Chips(BaseModel):
    """The interpretation as parts the asker can change (`edit`)."""

    measures: list[str] = Field(description="Measure keys")
    breakdown: str | None = Field(description="Breakdown key, or null")
    unit: Unit
    money: bool = Field(description="Whether a measure is an amount (the unit applies)")
    period: str | None = Field(description="The period's key when it is one of the chips'")
    period_label: str | None = Field(description="The period as asked, or its dates")
    compare: bool = Field(description="Whether the period is compared with the one before")
    filters: list[str] = Field(description="Each filter, in the question's language")
    rejections: bool = Field(description="Whether it counts postbacks refused at reception")


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
    edited: bool = Field(default=False, description="Whether it answers an `edit`")
    chips: Chips | None = Field(
        default=None, description="The interpretation's parts, to change with `edit`"
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
