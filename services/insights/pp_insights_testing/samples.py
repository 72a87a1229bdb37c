"""A small data set whose metrics the insights tests work out by hand."""

from __future__ import annotations

from typing import Any

from pp_shared.testing.samples import appeal, decision, escalation, qa_review


def sample_events() -> list[dict[str, Any]]:
    """Six escalations with decisions, appeals and QA reviews; the metrics they give are
    worked out by hand in the insights tests.

    esc-1 HATE.SLURS DE 20 Nov 10:05 policy_unclear: decided after 1800 s (HATE.SLURS), finally
      relabelled HATE.PROTECTED_ATTR.RELIGION (tag disagrees); 1 appeal overturned; QA 2, 1 no.
    esc-2 HATE.SLURS DE 10:20 policy_unclear: decided after 100 s (agrees); appeals upheld and
      partially overturned; QA 1 yes.
    esc-3 HATE.SLURS FR 10:40 high_severity, no queue: nothing else.
    esc-4 VBDA.THREATS DE 10:50 high_severity: no_violation after 3600 s (disagrees); 1 appeal
      overturned, then corrected to upheld; QA 1 no.
    esc-5 HATE.SLURS DE 21 Nov 09:00 policy_unclear: decided after 10 s (agrees).
    esc-6 unclassified DE 20 Nov 11:15 other: decided HATE.SLURS after 5 s (disagrees).
    """

    def esc(n: int, at: str, clause: str | None, region: str, **over: Any) -> dict[str, Any]:
        return escalation(
            event_id=f"e{n}",
            escalation_id=f"esc-{n}",
            occurred_at=at,
            suggested_clause_id=clause,
            region=region,
            language=region.lower(),
            **over,
        )

    def dec(eid: str, n: int, at: str, action: str, clause: str | None) -> dict[str, Any]:
        return decision(
            event_id=eid,
            escalation_id=f"esc-{n}",
            decision_id=f"dec-{eid}",
            occurred_at=at,
            action=action,
            clause_id=clause,
        )

    def app(eid: str, n: int, appeal_id: str, at: str, outcome: str) -> dict[str, Any]:
        return appeal(
            event_id=eid,
            escalation_id=f"esc-{n}",
            appeal_id=appeal_id,
            decision_id="dec-x",
            occurred_at=at,
            outcome=outcome,
        )

    def qa(eid: str, n: int, agrees: bool) -> dict[str, Any]:
        return qa_review(
            event_id=eid,
            escalation_id=f"esc-{n}",
            agrees=agrees,
            occurred_at="2026-11-22T08:30:00Z",
        )

    return [
        esc(1, "2026-11-20T10:05:00Z", "HATE.SLURS", "DE"),
        esc(2, "2026-11-20T10:20:00Z", "HATE.SLURS", "DE"),
        esc(
            3,
            "2026-11-20T10:40:00Z",
            "HATE.SLURS",
            "FR",
            queue=None,
            product_feature="video",
            escalation_reason="high_severity",
        ),
        esc(
            4,
            "2026-11-20T10:50:00Z",
            "VBDA.THREATS",
            "DE",
            queue="vbda-tier2",
            product_feature="live",
            escalation_reason="high_severity",
        ),
        esc(5, "2026-11-21T09:00:00Z", "HATE.SLURS", "DE"),
        esc(6, "2026-11-20T11:15:00Z", None, "DE", escalation_reason="other"),
        dec("d1a", 1, "2026-11-20T10:35:00Z", "remove", "HATE.SLURS"),
        dec("d1b", 1, "2026-11-20T12:00:00Z", "label", "HATE.PROTECTED_ATTR.RELIGION"),
        dec("d2", 2, "2026-11-20T10:21:40Z", "remove", "HATE.SLURS"),
        dec("d4", 4, "2026-11-20T11:50:00Z", "no_violation", None),
        dec("d5", 5, "2026-11-21T09:00:10Z", "remove", "HATE.SLURS"),
        dec("d6", 6, "2026-11-20T11:15:05Z", "remove", "HATE.SLURS"),
        app("a1", 1, "ap-1", "2026-11-22T09:00:00Z", "overturned"),
        app("a2", 2, "ap-2", "2026-11-22T09:00:00Z", "upheld"),
        app("a3", 2, "ap-3", "2026-11-22T10:00:00Z", "partially_overturned"),
        app("a4", 4, "ap-4", "2026-11-22T09:00:00Z", "overturned"),
        app("a4b", 4, "ap-4", "2026-11-23T09:00:00Z", "upheld"),
        qa("q1a", 1, False),
        qa("q1b", 1, True),
        qa("q2", 2, True),
        qa("q4", 4, False),
    ]
