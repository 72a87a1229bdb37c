"""Events as in DOMAIN.md's wire-format section (``pp_shared.contracts.event_examples``), with
overridable fields."""

from __future__ import annotations

import copy
from typing import Any

from pp_shared.contracts.event_examples import APPEAL, DECISION, ESCALATION, QA_REVIEW


def escalation(**over: Any) -> dict[str, Any]:
    return {**ESCALATION, **over}


def decision(**over: Any) -> dict[str, Any]:
    return {**DECISION, **over}


def appeal(**over: Any) -> dict[str, Any]:
    return {**APPEAL, **over}


def qa_review(**over: Any) -> dict[str, Any]:
    return {**QA_REVIEW, **over}


def term_moved(
    taxonomy: dict[str, Any],
    *,
    version: str,
    term: str,
    language: str,
    from_clause: str,
    to_clause: str,
) -> dict[str, Any]:
    """A draft of ``taxonomy`` (a version's document as JSON) named ``version``, with a
    lexicon term of ``language`` moved from one clause to another; ``taxonomy`` is unchanged."""
    data = copy.deepcopy(taxonomy)
    data["version"] = version
    for area in data["areas"]:
        for clause in area["clauses"]:
            if clause["id"] == from_clause:
                clause["lexicon"][language].remove(term)
            if clause["id"] == to_clause:
                clause["lexicon"][language].append(term)
    return data
