"""Events as in DOMAIN.md's wire-format section (``pp_shared.contracts.event_examples``), with
overridable fields."""

from __future__ import annotations

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
