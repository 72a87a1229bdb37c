"""The answers of an exercise's results and of a comparison: the summary and its tables. Every
table is a list of flat rows, answered as JSON or (``Accept: text/csv``) as CSV."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import orjson
from fastapi import Response
from pydantic import BaseModel, Field

from pp_insights.calibration.stats import Interval
from pp_insights.queries.tabular import CSV, JSON, prefers_csv, to_csv


class Accuracy(BaseModel):
    """Answers equal to the expected one, of the answers to cases with an expected answer,
    with a 95% Wilson interval."""

    correct: int
    judged: int
    value: float | None
    low: float | None
    high: float | None


class ClauseRow(BaseModel):
    """Agreement on one clause. ``by`` expected: over the cases whose expected answer is the
    clause (accuracy is the share answered with it). ``by`` chosen: over every case, each
    answer read as "this clause or not" (accuracy is the share of the clause's answers that
    were expected)."""

    by: Literal["expected", "chosen"]
    clause_id: str
    cases: int
    responses: int
    krippendorff_alpha: float | None
    alpha_low: float | None
    alpha_high: float | None
    fleiss_kappa: float | None
    percent_agreement: float | None
    correct: int
    judged: int
    accuracy: float | None
    accuracy_low: float | None
    accuracy_high: float | None


class CohortRow(BaseModel):
    """The moderators sharing one value of a cohort attribute (at least five of them)."""

    attribute: str
    value: str
    moderators: int
    responses: int
    krippendorff_alpha: float | None
    correct: int
    judged: int
    accuracy: float | None
    accuracy_low: float | None
    accuracy_high: float | None


class ModeratorRow(BaseModel):
    moderator_id: str
    region: str | None
    language: str | None
    tier: str | None
    vendor_site: str | None
    responses: int
    correct: int
    judged: int
    accuracy: float | None
    accuracy_low: float | None
    accuracy_high: float | None
    most_confused: str | None = Field(
        description="The expected > chosen pair this moderator answered wrongly most often."
    )


class ConfusionRow(BaseModel):
    """How often the expected answer was answered with another (or the same) one, for everyone
    (``scope`` ``all``), a cohort (``region=DE``) or a moderator (``moderator=m-7``)."""

    scope: str
    expected_clause_id: str
    chosen_clause_id: str
    count: int


class DisputedCase(BaseModel):
    case_id: str
    expected_clause_id: str | None
    text: str | None
    content_ref: str | None
    responses: int
    disagreement: float = Field(description="1 - the share of agreeing pairs of answers.")
    majority_clause_id: str
    majority_share: float
    distribution: dict[str, int]


class Results(BaseModel):
    """An exercise's results: the overall agreement at the top, beside its tables. Answers of
    single moderators are on their own paths (``.../results/moderators``)."""

    exercise_id: int
    name: str
    golden_set_id: int
    state: str
    krippendorff_alpha: float | None
    alpha_interval: Interval | None = Field(
        description="95% percentile bootstrap interval over resamples of the cases."
    )
    fleiss_kappa: float | None = Field(description="null when the design is not balanced.")
    balanced: bool
    percent_agreement: float | None
    responses: int
    moderators: int
    cases: int
    accuracy: Accuracy
    clauses: list[ClauseRow]
    cohorts: list[CohortRow]
    cohorts_withheld: int = Field(description="Cohorts of fewer than five moderators, not shown.")
    disputed_cases: list[DisputedCase]
    confusion: list[ConfusionRow]
    tables: dict[str, str] = Field(description="The path of each table, as JSON or CSV.")


class ComparisonRow(BaseModel):
    """One scope (``overall``, a clause by its expected answers, or a cohort) in a baseline
    exercise and in this one: the change is this minus the baseline."""

    scope: str
    alpha_before: float | None
    alpha_after: float | None
    alpha_change: float | None
    alpha_change_low: float | None
    alpha_change_high: float | None
    accuracy_before: float | None
    judged_before: int
    accuracy_after: float | None
    judged_after: int
    accuracy_change: float | None
    accuracy_change_low: float | None
    accuracy_change_high: float | None


class Comparison(BaseModel):
    exercise_id: int
    baseline_id: int
    golden_set_id: int
    rows: list[ComparisonRow]


def table(
    rows: Sequence[BaseModel],
    columns: list[str],
    accept: str | None,
    answer: BaseModel | None = None,
) -> Response:
    """``answer`` (by default the list of ``rows``) as JSON, or ``rows`` as CSV when the
    client prefers it."""
    headers = {"Vary": "Accept"}
    if prefers_csv(accept):
        flat = [_flat(r.model_dump()) for r in rows]
        return Response(to_csv(columns, flat), media_type=CSV, headers=headers)
    body = (
        answer.model_dump_json()
        if answer is not None
        else orjson.dumps([r.model_dump(mode="json") for r in rows])
    )
    return Response(body, media_type=JSON, headers=headers)


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    # A distribution reads as one cell: "HATE.SLURS:3 none:1".
    return {
        k: " ".join(f"{a}:{n}" for a, n in v.items()) if isinstance(v, dict) else v
        for k, v in row.items()
    }
