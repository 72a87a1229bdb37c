"""The gateway's record tables, mapping what ``migrations/001_keys_and_audit.sql`` creates."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime, LargeBinary, Text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel

SCHEMA = {"schema": "gateway"}


def _at(*, nullable: bool = False) -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=nullable)


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_keys"
    __table_args__ = SCHEMA

    key_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True)
    )
    prefix: str
    key_hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    name: str
    owner: str
    role: str
    areas: list[str] | None = Field(default=None, sa_column=Column(ARRAY(Text), nullable=True))
    created_at: datetime = Field(sa_column=_at())
    created_by: str
    expires_at: datetime | None = Field(default=None, sa_column=_at(nullable=True))
    revoked_at: datetime | None = Field(default=None, sa_column=_at(nullable=True))
    revoked_by: str | None = None


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_log"
    __table_args__ = SCHEMA

    entry_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True)
    )
    at: datetime = Field(sa_column=_at())
    actor: str | None = None
    key_prefix: str | None = None
    role: str | None = None
    method: str
    path: str
    route: str | None = None
    target: str | None = None
    status: int
    outcome: str = Field(description="allowed, denied, or failed (the service answered 5xx).")
    reason: str | None = Field(default=None, description="Why it was refused.")
    requests: int = Field(
        default=1,
        description="Requests this entry stands for: event submissions are one entry per "
        "key, route, status and minute; everything else one entry each.",
    )
