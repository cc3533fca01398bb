"""Saved questions and report schedules as the API takes and shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from postback.tenants.schemas import NO_NUL

Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120, pattern=NO_NUL)
]
Cadence = Literal["daily", "weekly"]
BIGINT = 2**63 - 1


class SavedQuestionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    conversation: UUID = Field(
        description="The `conversation` of an answer of `POST /api/nlq`: its current question "
        "is saved"
    )
    title: Title = Field(examples=["昨天每个offer的佣金"])


class SavedQuestionUpdate(BaseModel):
    """Only the fields sent change."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    position: int | None = Field(default=None, ge=0, le=1_000_000, description="Tile order")


class SavedQuestionOut(BaseModel):
    id: int
    title: str
    question: str
    language: Literal["zh", "en"]
    position: int
    created_at: datetime
    updated_at: datetime


class SavedQuestionList(BaseModel):
    items: list[SavedQuestionOut]


class ScheduleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cadence: Cadence = Field(description="daily, or weekly on `weekday`")
    weekday: int | None = Field(
        default=None, ge=0, le=6, description="0 Monday … 6 Sunday; weekly only (and needed)"
    )
    hour: int = Field(ge=0, le=23, description="The hour it is sent, in the reporting timezone")
    channel: int = Field(ge=1, le=BIGINT, description="The alert channel it is sent to")


class ScheduleUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(description="false pauses the report, true resumes it")


class ScheduleOut(BaseModel):
    id: int
    saved_question_id: int
    title: str = Field(description="The saved question's title")
    cadence: Cadence
    weekday: int | None
    hour: int
    timezone: str = Field(description="The zone `hour` is read in")
    channel_id: int
    channel: str = Field(description="The alert channel's name")
    enabled: bool
    next_run_at: datetime
    last_run_at: datetime | None
    last_error: str | None
    created_at: datetime


class ScheduleList(BaseModel):
    items: list[ScheduleOut]


class ChannelChoice(BaseModel):
    """An alert channel a report may be sent to (its address is not shown)."""

    id: int
    name: str
    kind: str
    language: Literal["en", "zh"]
    enabled: bool


class ChannelChoices(BaseModel):
    items: list[ChannelChoice]
