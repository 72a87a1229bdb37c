"""The tables of calibration as SQLModel classes: golden sets and their cases, exercises,
their moderators and their answers. They map the tables of migration ``020`` (the migration
is the schema's source: nothing here creates a table)."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from sqlalchemy import BigInteger, Column, DateTime, String
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel

SCHEMA = {"schema": "insights"}


def _bigserial() -> Column[int]:
    # Bound as bigint: SQLAlchemy's default integer is 32 bits.
    return Column(BigInteger, primary_key=True, autoincrement=True)


def _bigint(*, primary_key: bool = False) -> Column[int]:
    return Column(BigInteger, primary_key=primary_key, nullable=False)


def _at(*, nullable: bool = False) -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=nullable)


class GoldenSet(SQLModel, table=True):
    """One version of a named golden set."""

    __tablename__: ClassVar[str] = "golden_sets"
    __table_args__ = SCHEMA

    golden_set_id: int | None = Field(default=None, sa_column=_bigserial())
    name: str
    version: int
    taxonomy_version: str | None = None
    clauses: list[str] | None = Field(default=None, sa_column=Column(ARRAY(String)))
    cases: int
    created_at: datetime = Field(sa_column=_at())
    created_by: str


class GoldenCase(SQLModel, table=True):
    """A case of a golden set, with the answer expected (a clause, ``none``, or nothing)."""

    __tablename__: ClassVar[str] = "golden_cases"
    __table_args__ = SCHEMA

    golden_set_id: int = Field(sa_column=_bigint(primary_key=True))
    case_id: str = Field(primary_key=True)
    position: int
    text: str | None = None
    content_ref: str | None = None
    expected_clause_id: str | None = None
    rationale: str | None = None


class Exercise(SQLModel, table=True):
    """A calibration exercise over one golden set: open, then closed."""

    __tablename__: ClassVar[str] = "calibration_exercises"
    __table_args__ = SCHEMA

    exercise_id: int | None = Field(default=None, sa_column=_bigserial())
    name: str
    golden_set_id: int = Field(sa_column=_bigint())
    state: str
    created_at: datetime = Field(sa_column=_at())
    created_by: str
    closed_at: datetime | None = Field(default=None, sa_column=_at(nullable=True))
    closed_by: str | None = None


class Moderator(SQLModel, table=True):
    """A moderator of an exercise with their cohort attributes."""

    __tablename__: ClassVar[str] = "calibration_moderators"
    __table_args__ = SCHEMA

    exercise_id: int = Field(sa_column=_bigint(primary_key=True))
    moderator_id: str = Field(primary_key=True)
    region: str | None = None
    language: str | None = None
    tier: str | None = None
    vendor_site: str | None = None


class Response(SQLModel, table=True):
    """A moderator's answer to a case of an exercise."""

    __tablename__: ClassVar[str] = "calibration_responses"
    __table_args__ = SCHEMA

    exercise_id: int = Field(sa_column=_bigint(primary_key=True))
    moderator_id: str = Field(primary_key=True)
    case_id: str = Field(primary_key=True)
    clause_id: str
    confidence: float | None = None
    reason: str | None = None
    answered_at: datetime = Field(sa_column=_at())
    recorded_by: str
