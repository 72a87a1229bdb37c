from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pp_ingest.intake.validation import (
    Rules,
    UndecodableJson,
    check_event,
    count_event_errors,
    load_json,
    validate_event,
)
from pp_ingest.settings import IngestSettings
from pp_shared.contracts.events import EVENT_ADAPTER, Event
from pp_shared.testing.samples import appeal, decision, escalation, qa_review

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
RULES = Rules(max_future_skew=timedelta(seconds=300))


def event(data: dict[str, Any]) -> Event:
    return EVENT_ADAPTER.validate_python(data)


def pointers(errors: list[dict[str, Any]]) -> list[str]:
    return [e["pointer"] for e in errors]


class TestCountingErrors:
    @pytest.mark.parametrize(
        ("data", "count"),
        [
            (escalation(), 0),
            (escalation(region="Germany", severity=9, source=""), 3),
            (escalation(source="a\x00b", occurred_at="2099-01-01T00:00:00Z"), 2),
            (decision(event_type="unknown"), 1),
            ([1, 2], 1),
        ],
        ids=["valid", "three fields", "control and future", "union tag", "not an object"],
    )
    def test_the_count_is_the_number_of_errors_validate_event_lists(
        self, data: Any, count: int
    ) -> None:
        event, errors = validate_event(data, now=NOW, rules=RULES)
        counted, n = count_event_errors(data, now=NOW, rules=RULES)
        assert (len(errors), n) == (count, count)
        assert (event is None, counted is None) == (count > 0, count > 0)


class TestControlCharacters:
    @pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\x9f"])
    def test_control_character_in_a_string_field_is_an_error(self, char: str) -> None:
        errors = check_event(event(escalation(source=f"tool{char}")), now=NOW, rules=RULES)
        assert pointers(errors) == ["/source"]
        assert errors[0]["detail"] == f"control character U+{ord(char):04X} at position 4"

    @pytest.mark.parametrize(
        "sample", [escalation, decision, appeal, qa_review], ids=lambda s: s.__name__
    )
    def test_every_event_type_is_checked(self, sample: Any) -> None:
        errors = check_event(event(sample(source="a\tb")), now=NOW, rules=RULES)
        assert pointers(errors) == ["/source"]

    def test_c1_control_in_an_id_is_an_error(self) -> None:
        # The shared id pattern stops C0 controls and DEL but lets C1 through.
        errors = check_event(event(decision(moderator_id="m\x8542")), now=NOW, rules=RULES)
        assert pointers(errors) == ["/moderator_id"]

    def test_text_excerpt_keeps_line_breaks_and_tabs_only(self) -> None:
        fine = event(escalation(text_excerpt="line one\r\nline two\n\tindented"))
        assert check_event(fine, now=NOW, rules=RULES) == []
        bad = event(escalation(text_excerpt="line one\nbell\x07"))
        errors = check_event(bad, now=NOW, rules=RULES)
        assert pointers(errors) == ["/text_excerpt"]
        assert errors[0]["detail"] == (
            "control character U+0007 at position 13 (only line feed, carriage return and tab "
            "are allowed here)"
        )

    def test_line_break_outside_text_excerpt_is_an_error(self) -> None:
        errors = check_event(event(escalation(queue="hate\ntier2")), now=NOW, rules=RULES)
        assert pointers(errors) == ["/queue"]

    def test_printable_unicode_is_fine(self) -> None:
        text = "Zürich\u00a0— 👩\u200d👩\u200d👧 مرحبا \u2028 end"
        assert check_event(event(escalation(text_excerpt=text)), now=NOW, rules=RULES) == []

    def test_every_bad_field_is_named(self) -> None:
        data = escalation(source="a\x00", queue="b\x01", text_excerpt="c\x02")
        errors = check_event(event(data), now=NOW, rules=RULES)
        assert pointers(errors) == ["/source", "/queue", "/text_excerpt"]


class TestFutureSkew:
    def test_up_to_the_allowed_skew_is_fine(self) -> None:
        at = (NOW + timedelta(seconds=300)).isoformat()
        assert check_event(event(escalation(occurred_at=at)), now=NOW, rules=RULES) == []

    def test_beyond_the_skew_is_an_error_with_a_pointer(self) -> None:
        data = escalation(occurred_at="2026-12-01T12:05:01Z")
        errors = check_event(event(data), now=NOW, rules=RULES)
        assert errors == [
            {
                "pointer": "/occurred_at",
                "detail": "occurred_at lies 301 s in the future; at most 300 s of clock skew "
                "is allowed",
                "found": "2026-12-01T12:05:01+00:00",
            }
        ]

    def test_other_time_zones_are_compared_as_instants(self) -> None:
        # 13:04 in UTC+1 is 12:04 UTC: inside the skew.
        data = escalation(occurred_at="2026-12-01T13:04:00+01:00")
        assert check_event(event(data), now=NOW, rules=RULES) == []

    def test_the_skew_comes_from_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("PP_MAX_FUTURE_SKEW_SECONDS", "60")
        assert Rules.of(IngestSettings()) == Rules(max_future_skew=timedelta(seconds=60))
        monkeypatch.delenv("PP_MAX_FUTURE_SKEW_SECONDS")
        assert Rules.of(IngestSettings()) == Rules(max_future_skew=timedelta(seconds=300))


class TestPastBound:
    def test_an_event_older_than_the_bound_is_an_error(self) -> None:
        rules = Rules(max_future_skew=timedelta(seconds=300), max_age=timedelta(days=30))
        old = event(escalation(occurred_at="2026-11-01T11:59:59Z"))
        errors = check_event(old, now=NOW, rules=rules)
        assert errors == [
            {
                "pointer": "/occurred_at",
                "detail": "occurred_at lies more than 30 days in the past",
                "expected": "at or after 2026-11-01T12:00:00+00:00",
                "found": "2026-11-01T11:59:59+00:00",
            }
        ]
        at_the_bound = event(escalation(occurred_at="2026-11-01T12:00:00Z"))
        assert check_event(at_the_bound, now=NOW, rules=rules) == []

    def test_the_default_bound_is_three_years(self, monkeypatch: pytest.MonkeyPatch) -> None:
        assert Rules.of(IngestSettings()).max_age == timedelta(days=1096)
        monkeypatch.setenv("PP_MAX_EVENT_AGE_DAYS", "90")
        assert Rules.of(IngestSettings()).max_age == timedelta(days=90)

    def test_year_one_is_refused_not_a_crash(self) -> None:
        found, errors = validate_event(
            escalation(occurred_at="0001-01-01T00:00:00+01:00"), now=NOW, rules=RULES
        )
        assert found is None
        assert pointers(errors) == ["/occurred_at"]


class TestValidateEvent:
    def test_model_errors_come_before_the_extra_rules(self) -> None:
        found, errors = validate_event(
            escalation(region="Germany", source="x\x00"), now=NOW, rules=RULES
        )
        # The extra rules only run on an event the models accept.
        assert found is None
        assert pointers(errors) == ["/region"]

    def test_a_valid_event_comes_back_with_no_errors(self) -> None:
        found, errors = validate_event(escalation(), now=NOW, rules=RULES)
        assert found is not None
        assert found.event_id == "6f1c2d3e-0000-4000-8000-000000000001"
        assert errors == []


class TestLoadJson:
    def test_bad_utf8_is_named_as_such(self) -> None:
        with pytest.raises(UndecodableJson, match=r"^not valid UTF-8: byte 0xff at offset 2$"):
            load_json(b'{"\xff": 1}')

    def test_bad_json_is_named_as_such(self) -> None:
        with pytest.raises(UndecodableJson, match=r"^not valid JSON: "):
            load_json(b'{"a": ')
