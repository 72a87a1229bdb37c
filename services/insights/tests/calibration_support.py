"""Helpers of the calibration tests: the whole cycle through the API on small designs."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

import httpx

BASE = "/v1/calibration"
CSV = {"content-type": "text/csv"}
JSON = {"content-type": "application/json"}


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return out.getvalue()


async def golden_set(
    client: httpx.AsyncClient, name: str, cases: Sequence[tuple[str, str, str]], **params: Any
) -> int:
    """A golden set from CSV (case_id, text, expected); returns its id."""
    body = csv_text(("case_id", "text", "expected_clause_id"), cases)
    answer = await client.post(
        f"{BASE}/golden-sets", params={"name": name, **params}, content=body, headers=CSV
    )
    assert answer.status_code == 201, answer.text
    golden_set_id: int = answer.json()["id"]
    return golden_set_id


async def exercise(
    client: httpx.AsyncClient,
    golden_set_id: int,
    name: str = "round 1",
    moderators: Sequence[dict[str, str]] = (),
) -> int:
    body = {"name": name, "golden_set_id": golden_set_id, "moderators": list(moderators)}
    answer = await client.post(f"{BASE}/exercises", json=body)
    assert answer.status_code == 201, answer.text
    exercise_id: int = answer.json()["id"]
    return exercise_id


async def respond(
    client: httpx.AsyncClient, exercise_id: int, answers: Sequence[tuple[str, str, str]]
) -> dict[str, Any]:
    """Answers (moderator, case, clause) as CSV; returns the per-row answer."""
    body = csv_text(("moderator_id", "case_id", "clause_id"), answers)
    answer = await client.post(
        f"{BASE}/exercises/{exercise_id}/responses", content=body, headers=CSV
    )
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def grid(
    moderators: Sequence[str], cases: Sequence[str], labels: Sequence[str]
) -> list[tuple[str, str, str]]:
    """Answers from a grid: ``labels[i * len(cases) + j]`` is moderator i's answer to case j;
    an empty label is no answer."""
    out = []
    for i, moderator in enumerate(moderators):
        for j, case in enumerate(cases):
            label = labels[i * len(cases) + j]
            if label:
                out.append((moderator, case, label))
    return out
