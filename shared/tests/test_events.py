from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from pydantic import ValidationError

from pp_shared.contracts.events import (
    AppealResolved,
    DecisionMade,
    EscalationCreated,
    QaReviewed,
    area_of,
    parse_event,
)
from pp_shared.contracts.schemas import render
from pp_shared.contracts.topics import Topic, topic_name
from pp_shared.problems import field_errors
from pp_shared.testing import samples

REPO = Path(__file__).resolve().parents[2]


class TestWireFormat:
    def test_domain_examples_parse_to_their_models(self) -> None:
        kinds = [
            type(parse_event(orjson.dumps(s())))
            for s in (samples.escalation, samples.decision, samples.appeal, samples.qa_review)
        ]
        assert kinds == [EscalationCreated, DecisionMade, AppealResolved, QaReviewed]

    def test_escalation_fields_keep_their_wire_names(self) -> None:
        event = parse_event(orjson.dumps(samples.escalation()))
        dumped = event.model_dump(mode="json")
        assert dumped["occurred_at"] == "2026-11-20T10:15:00Z"
        assert set(samples.escalation()) == set(dumped)

    def test_unknown_fields_are_ignored(self) -> None:
        event = parse_event(orjson.dumps(samples.decision(extra_field="x")))
        assert "extra_field" not in event.model_dump()

    def test_naive_timestamp_is_rejected_with_its_pointer(self) -> None:
        with pytest.raises(ValidationError) as info:
            parse_event(orjson.dumps(samples.escalation(occurred_at="2026-11-20T10:15:00")))
        errors = field_errors(info.value.errors())
        assert [e["pointer"] for e in errors] == ["/occurred_at"]
        assert errors[0]["found"] == "2026-11-20T10:15:00"

    def test_unknown_event_type_lists_the_allowed_ones(self) -> None:
        with pytest.raises(ValidationError) as info:
            parse_event(orjson.dumps(samples.escalation(event_type="escalation.deleted")))
        errors = field_errors(info.value.errors())
        assert errors[0]["pointer"] == "/event_type"
        assert errors[0]["expected"] == (
            "'escalation.created', 'decision.made', 'appeal.resolved', 'qa.reviewed'"
        )

    def test_bad_region_and_clause_are_reported_together(self) -> None:
        bad = samples.escalation(region="de", suggested_clause_id="hate.slurs", severity=5)
        with pytest.raises(ValidationError) as info:
            parse_event(orjson.dumps(bad))
        pointers = sorted(e["pointer"] for e in field_errors(info.value.errors()))
        assert pointers == ["/region", "/severity", "/suggested_clause_id"]

    def test_area_of_clause(self) -> None:
        assert area_of("HATE.PROTECTED_ATTR.RELIGION") == "HATE"
        assert area_of("VBDA.THREATS") == "VBDA"
        assert area_of("OTHER.THING") == "unclassified"


class TestContracts:
    def test_topics_carry_a_version_suffix(self) -> None:
        assert all(t.value.endswith(".v1") for t in Topic)
        assert topic_name(Topic.EVENTS_RAW, "t1.") == "t1.pp.events.raw.v1"

    def test_published_json_schemas_are_current(self) -> None:
        stale = [
            name
            for name, text in render().items()
            if (REPO / "docs" / "schemas" / name).read_text(encoding="utf-8") != text
        ]
        assert stale == [], "run `make schemas` and commit docs/schemas"
