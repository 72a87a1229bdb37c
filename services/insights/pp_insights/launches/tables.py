"""The launches table as a SQLModel class; migration ``030_launches.sql`` creates it."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from sqlalchemy import BigInteger, Column, DateTime, Text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel


def _texts() -> Column[list[str]]:
    return Column(ARRAY(Text()), nullable=False, server_default="{}")


class Launch(SQLModel, table=True):
    """One launch; an empty list or a None area does not restrict its scope."""

    __tablename__: ClassVar[str] = "launches"
    __table_args__ = {"schema": "insights"}

    # bigserial, bound as bigint (an id past 2^31 would fail as SQLAlchemy's 32-bit integer).
    id: int | None = Field(
        default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True)
    )
    title: str
    description: str = ""
    launched_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    area: str | None = None
    clause_ids: list[str] = Field(default_factory=list, sa_column=_texts())
    regions: list[str] = Field(default_factory=list, sa_column=_texts())
    languages: list[str] = Field(default_factory=list, sa_column=_texts())
    product_features: list[str] = Field(default_factory=list, sa_column=_texts())
    taxonomy_version: str | None = None
    recorded_by: str
    recorded_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
