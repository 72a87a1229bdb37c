"""What the event log stores: canonical bytes, and a hash equal for a true duplicate only."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from pp_ingest.event_log.canonical import canonical
from pp_shared.contracts.events import EVENT_ADAPTER, Event
from pp_shared.testing.samples import appeal, decision, escalation, qa_review


def event(data: dict[str, Any]) -> Event:
    return EVENT_ADAPTER.validate_python(data)


class TestCanonical:
    def test_equal_events_hash_equal_whatever_their_spelling(self) -> None:
        a = event(escalation(occurred_at="2026-11-20T10:15:00Z"))
        b = event(
            orjson.loads(orjson.dumps({**escalation(occurred_at="2026-11-20T11:15:00+01:00")}))
        )
        c = event({**escalation(), "unknown_field": 1})
        assert canonical(a)[1] != canonical(b)[1]  # the offset is kept: a different body
        assert canonical(a)[1] == canonical(c)[1]  # unknown fields are not part of it

    def test_encoded_bytes_are_sorted_compact_json(self) -> None:
        encoded, _ = canonical(event(appeal()))
        assert encoded.startswith(b'{"appeal_id":"ap-77","decision_id":"dec-555"')

    @pytest.mark.parametrize(
        "occurred_at",
        [
            "2026-11-20T10:15:00Z",
            "2026-11-20T10:15:00+00:00",
            "2026-11-20T10:15:00-00:00",
            "2026-11-20T10:15:00.123Z",
            "2026-11-20T10:15:00.123456789+05:30",
            "2026-11-20T10:15:00.000001-08:00",
            "2026-11-20 10:15:00+01:00",
            "2026-11-20T10:15Z",
            "0999-01-01T00:00:00Z",
            1763633700,
        ],
    )
    @pytest.mark.parametrize("make", [escalation, decision, appeal, qa_review])
    def test_bytes_are_those_of_pydantics_json_mode(
        self, make: Callable[..., dict[str, Any]], occurred_at: str | int
    ) -> None:
        # The event log holds hashes of these bytes from earlier versions: a re-sent event
        # must hash the same, or it would be taken for a conflict.
        data = {**make(), "occurred_at": occurred_at, "text_excerpt": 'é\u2028\t"q" 😀'}
        parsed = event(data)
        reference = orjson.dumps(
            parsed.model_dump(mode="json", exclude_none=True), option=orjson.OPT_SORT_KEYS
        )
        assert canonical(parsed) == (reference, hashlib.sha256(reference).digest())
