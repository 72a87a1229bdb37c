"""Retraining jobs as records (``classifier.retrain_jobs``, migration 005), read and written a
row at a time through SQLModel sessions (``pp_shared.records``)."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

import sqlmodel
from pydantic import BaseModel, Field
from sqlalchemy import Column, DateTime
from sqlmodel import SQLModel, col, select

from pp_shared.records import AsyncSession

JobState = Literal["running", "done", "failed", "interrupted"]
Trigger = Literal["api", "schedule"]


def _at(*, nullable: bool = False) -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=nullable)


class RetrainJob(SQLModel, table=True):
    """One training: who started it, where it is, and what it came to."""

    __tablename__: ClassVar[str] = "retrain_jobs"
    __table_args__ = {"schema": "classifier"}

    id: str = sqlmodel.Field(primary_key=True)
    trigger: str
    state: str
    outcome: str | None = None
    model_version: str | None = None
    reason: str | None = None
    error: str | None = None
    started_at: datetime = sqlmodel.Field(sa_column=_at())
    finished_at: datetime | None = sqlmodel.Field(default=None, sa_column=_at(nullable=True))


class JobView(BaseModel):
    """A retraining job as the API shows it."""

    id: str
    trigger: Trigger = Field(description="`api` (POST /v1/models/retrain) or `schedule`.")
    state: JobState = Field(
        description="`running`; `done` (see `outcome`); `failed` (see `error`); `interrupted` "
        "(the replica that ran it stopped before it finished)."
    )
    outcome: Literal["promoted", "rejected", "unchanged"] | None = Field(
        description="When done: the candidate was promoted, rejected, or equal to a stored model."
    )
    model_version: str | None = Field(description="The candidate's version, when done.")
    reason: str | None = Field(description="Why it was promoted, rejected or unchanged.")
    error: str | None = Field(description="The type of the error that ended a failed job.")
    started_at: datetime
    finished_at: datetime | None
    href: str = Field(description="Where to poll this job.")

    @classmethod
    def of(cls, job: RetrainJob) -> JobView:
        return cls.model_validate({**job.model_dump(), "href": f"/v1/models/retrain/jobs/{job.id}"})


async def get(session: AsyncSession, job_id: str) -> RetrainJob | None:
    return await session.get(RetrainJob, job_id)


async def newest(
    session: AsyncSession, *, limit: int, state: str | None = None
) -> list[RetrainJob]:
    statement = select(RetrainJob).order_by(col(RetrainJob.started_at).desc()).limit(limit)
    if state is not None:
        statement = statement.where(RetrainJob.state == state)
    return list((await session.exec(statement)).all())
