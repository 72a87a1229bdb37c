"""Calibration's requests and answers: the rows of golden sets, responses and moderators as
they are validated one by one, and the views of sets and exercises."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from pp_shared.contracts.events import CLAUSE_ID_PATTERN, NO_CLAUSE
from pp_shared.types import MULTI_LINE, SINGLE_LINE

MAX_CASES = 5_000
"""Cases of one golden set."""
MAX_ROWS = 20_000
"""Rows of one request: 200 cases x 100 moderators answered in one go."""
MIN_COHORT = 5
"""Fewest moderators a cohort may have to be shown to callers who may not see individuals."""

Name = Annotated[str, StringConstraints(min_length=1, max_length=200), SINGLE_LINE]
Key = Annotated[
    str, StringConstraints(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f-\x9f]+$")
]
"""An id chosen by the caller: a case, a moderator (pseudonymous), a taxonomy version."""
Answer = Annotated[
    str, StringConstraints(max_length=128, pattern=f"{CLAUSE_ID_PATTERN}|^{NO_CLAUSE}$")
]
"""A clause id, or ``none`` for "no clause applies"."""
Attribute = Annotated[str, StringConstraints(min_length=1, max_length=64), SINGLE_LINE]
Text = Annotated[str, StringConstraints(min_length=1, max_length=20_000), MULTI_LINE]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=2_000), MULTI_LINE]


class _Row(BaseModel):
    # Unknown fields are refused: a misspelt column never passes unnoticed.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CaseRow(_Row):
    """A case of a golden set: its text or a reference to its content, and the answer the
    policy owners expect (a clause, ``none``, or nothing for a set without answers)."""

    case_id: Key
    text: Text | None = None
    content_ref: Key | None = None
    expected_clause_id: Answer | None = None
    rationale: Reason | None = None


class ResponseRow(_Row):
    """A moderator's answer to a case: a clause or ``none``."""

    moderator_id: Key
    case_id: Key
    clause_id: Answer
    confidence: Annotated[float, Field(ge=0, le=1)] | None = None
    reason: Reason | None = None


class ModeratorIn(_Row):
    """A moderator of an exercise with optional cohort attributes."""

    moderator_id: Key
    region: Attribute | None = None
    language: Attribute | None = None
    tier: Attribute | None = None
    vendor_site: Attribute | None = None


COHORT_ATTRIBUTES: tuple[str, ...] = ("region", "language", "tier", "vendor_site")


class GoldenSetIn(BaseModel):
    """A golden set as JSON; ``name`` may come as the query parameter instead."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    taxonomy_version: Key | None = None
    clauses: Annotated[list[Answer], Field(max_length=2_000)] | None = Field(
        default=None,
        description="The answers its exercises accept besides none (the clause ids of its "
        "taxonomy version); absent: any well-formed clause id.",
    )
    cases: list[dict[str, Any]] = Field(
        description="Each case: case_id, text or content_ref, expected_clause_id (a clause, "
        "none, or absent), rationale."
    )


class ExerciseIn(BaseModel):
    """An exercise to open over a golden set, with its moderators if known."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    golden_set_id: Annotated[int, Field(ge=1, le=2**53 - 1)]
    moderators: Annotated[list[ModeratorIn], Field(max_length=MAX_ROWS)] = []


class Created(BaseModel):
    id: int


class GoldenSetView(BaseModel):
    id: int
    name: str
    version: int
    taxonomy_version: str | None
    clauses: list[str] | None
    cases: int
    created_at: datetime
    created_by: str


class GoldenCaseView(BaseModel):
    case_id: str
    text: str | None
    content_ref: str | None
    expected_clause_id: str | None
    rationale: str | None


class GoldenCases(BaseModel):
    """The cases of a golden set, in the order they came."""

    golden_set: GoldenSetView
    rows: list[GoldenCaseView]

    def columns(self) -> list[str]:
        return list(GoldenCaseView.model_fields)

    @property
    def table(self) -> list[dict[str, Any]]:
        return [r.model_dump() for r in self.rows]


class ExerciseState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class ExerciseView(BaseModel):
    id: int
    name: str
    golden_set_id: int
    state: ExerciseState
    created_at: datetime
    created_by: str
    closed_at: datetime | None
    closed_by: str | None
    moderators: int
    responses: int


class RowStatus(StrEnum):
    ACCEPTED = "accepted"
    """Stored."""
    REPLACED = "replaced"
    """Stored in place of an earlier answer of the moderator to the case."""
    SUPERSEDED = "superseded"
    """A later row of the same request answers the same moderator and case: that one is kept."""
    REJECTED = "rejected"


class RowOutcome(BaseModel):
    index: int = Field(description="The row's position among the rows sent, from 0.")
    line: int | None = Field(default=None, description="CSV: the row's line, the header is 1.")
    status: RowStatus
    reason: str | None = Field(
        default=None, description="When rejected: invalid, unknown_case, unknown_clause, closed."
    )
    errors: list[dict[str, Any]] | None = None


class RowCounts(BaseModel):
    received: int
    accepted: int
    replaced: int
    superseded: int
    rejected: int


class RowsAnswer(BaseModel):
    """The outcome of every row of a bulk request, in the order sent."""

    counts: RowCounts
    items: list[RowOutcome]
    errors_total: int | None = None
    errors_truncated: bool | None = None
