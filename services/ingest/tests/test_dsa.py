from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
from fastapi import FastAPI

from pp_ingest.dsa.mapping import EVENT_NAMESPACE, action_of, to_events
from pp_ingest.dsa.readers import CSV_COLUMNS, CSV_COLUMNS_V1, read_csv, read_json
from pp_ingest.dsa.schema import validate_statement
from pp_ingest.settings import IngestSettings
from pp_shared.problems import InvalidInput, PayloadTooLarge
from pp_shared.testing.plugin import eventually

IMPORT = "/v1/imports/dsa"
TODAY = date(2026, 12, 1)


def statement(**changes: Any) -> dict[str, Any]:
    """A valid statement of reasons in the API form; ``None`` removes a field."""
    base: dict[str, Any] = {
        "puid": "post-1001",
        "decision_visibility": ["DECISION_VISIBILITY_CONTENT_REMOVED"],
        "decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
        "incompatible_content_ground": "Community guidelines, section 4 (hate speech)",
        "incompatible_content_explanation": "Attacks people on the basis of their religion.",
        "incompatible_content_illegal": "No",
        "category": "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
        "category_specification": ["KEYWORD_HATE_SPEECH"],
        "content_type": ["CONTENT_TYPE_TEXT"],
        "content_language": "DE",
        "content_date": "2025-03-10",
        "application_date": "2025-03-12",
        "territorial_scope": ["DE"],
        "decision_facts": "The post was reviewed against the hate speech policy.",
        "source_type": "SOURCE_ARTICLE_16",
        "automated_detection": "No",
        "automated_decision": "AUTOMATED_DECISION_NOT_AUTOMATED",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def csv_body(rows: list[dict[str, Any]], columns: tuple[str, ...] = CSV_COLUMNS) -> bytes:
    """A DSA CSV export of API-form statements: arrays as JSON text, puid as uuid."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        cells = dict(row)
        cells["uuid"] = cells.pop("puid", "")
        writer.writerow(
            [
                orjson.dumps(cells[c]).decode()
                if isinstance(cells.get(c), list)
                else cells.get(c, "")
                for c in columns
            ]
        )
    return out.getvalue().encode()


def event_id(key: str, kind: str) -> str:
    return str(uuid.uuid5(EVENT_NAMESPACE, f"{key}/{kind}"))


class TestValidation:
    def test_a_valid_statement_has_no_errors(self) -> None:
        st, errors = validate_statement(statement(), today=TODAY)
        assert errors == []
        assert st is not None
        assert st.key == "post-1001"

    def test_errors_name_dsa_fields(self) -> None:
        st, errors = validate_statement(
            statement(
                category="STATEMENT_CATEGORY_HATE",
                content_date="10/03/2025",
                decision_ground=None,
                territorial_scope=["DE", "US"],
            ),
            today=TODAY,
        )
        assert st is None
        assert sorted((e["field"], e["pointer"]) for e in errors) == [
            ("category", "/category"),
            ("content_date", "/content_date"),
            ("decision_ground", "/decision_ground"),
            ("territorial_scope", "/territorial_scope/1"),
        ]

    def test_cross_field_rules(self) -> None:
        _st, errors = validate_statement(
            statement(
                puid=None,
                decision_visibility=["DECISION_VISIBILITY_OTHER"],
                incompatible_content_explanation=None,
                source_type="SOURCE_VOLUNTARY",
                source_identity="Trusted flagger X",
                content_date="2025-03-13",
            ),
            today=TODAY,
        )
        assert [e["field"] for e in errors] == [
            "puid",
            "incompatible_content_explanation",
            "decision_visibility_other",
            "source_identity",
            "content_date",
        ]

    def test_a_restriction_is_required_and_illegal_content_needs_its_ground(self) -> None:
        _st, errors = validate_statement(
            statement(decision_visibility=None, decision_ground="DECISION_GROUND_ILLEGAL_CONTENT"),
            today=TODAY,
        )
        assert [e["field"] for e in errors] == [
            "decision_visibility",
            "illegal_content_legal_ground",
            "illegal_content_explanation",
        ]

    def test_future_application_date_is_an_error(self) -> None:
        _st, errors = validate_statement(statement(application_date="2026-12-02"), today=TODAY)
        assert [(e["field"], e["detail"]) for e in errors] == [
            ("application_date", "lies in the future")
        ]

    def test_a_million_bad_countries_are_one_error(self) -> None:
        st, errors = validate_statement(
            statement(territorial_scope=["XX"] * 1_000_000), today=TODAY
        )
        assert st is None
        assert errors == [
            {
                "pointer": "/territorial_scope",
                "field": "territorial_scope",
                "detail": "List should have at most 100 items after validation, not 1000000",
                "found": "list",
            }
        ]

    def test_legacy_category_and_keyword_are_accepted(self) -> None:
        st, errors = validate_statement(
            statement(
                category="STATEMENT_CATEGORY_NON_CONSENSUAL_BEHAVIOUR",
                category_specification=["KEYWORD_IMAGE_BASED_SEXUAL_ABUSE"],
            ),
            today=TODAY,
        )
        assert errors == []
        assert st is not None
        assert to_events(st)[0]["suggested_clause_id"] == "HEX.NON_CONSENSUAL_INTIMATE_IMAGERY"


class TestMapping:
    def test_statement_becomes_an_escalation_and_a_decision(self) -> None:
        st, _ = validate_statement(statement(), today=TODAY)
        assert st is not None
        escalation, decision = to_events(st)
        assert escalation == {
            "schema_version": 1,
            "source": "dsa-import",
            "escalation_id": "dsa:post-1001",
            "event_id": event_id("post-1001", "escalation"),
            "event_type": "escalation.created",
            "occurred_at": "2025-03-10T00:00:00Z",
            "content_id": "dsa:post-1001",
            "content_type": "text",
            "product_feature": "unspecified",
            "region": "DE",
            "language": "de",
            "queue": "dsa-import",
            "escalation_reason": "other",
            "reporter_type": "user_report",
            "suggested_clause_id": "HATE.INCITEMENT_TO_HATRED",
        }
        assert decision == {
            "schema_version": 1,
            "source": "dsa-import",
            "escalation_id": "dsa:post-1001",
            "event_id": event_id("post-1001", "decision"),
            "event_type": "decision.made",
            "occurred_at": "2025-03-12T00:00:00Z",
            "decision_id": "dsa:post-1001:decision",
            "moderator_id": "dsa:human",
            "tier": "frontline",
            "action": "remove",
            "clause_id": "HATE.INCITEMENT_TO_HATRED",
        }

    def test_many_countries_are_eu_and_voluntary_automated_is_automated_detection(self) -> None:
        st, _ = validate_statement(
            statement(
                territorial_scope=["DE", "FR"],
                source_type="SOURCE_VOLUNTARY",
                automated_detection="Yes",
                automated_decision="AUTOMATED_DECISION_FULLY",
                content_language=None,
            ),
            today=TODAY,
        )
        assert st is not None
        escalation, decision = to_events(st)
        assert (escalation["region"], escalation["language"], escalation["reporter_type"]) == (
            "EU",
            "und",
            "automated_detection",
        )
        assert decision["moderator_id"] == "dsa:automated"

    def test_the_most_severe_restriction_is_the_action(self) -> None:
        cases: list[tuple[dict[str, Any], str]] = [
            ({"decision_account": "DECISION_ACCOUNT_TERMINATED"}, "account_ban"),
            ({"decision_provision": "DECISION_PROVISION_TOTAL_TERMINATION"}, "account_ban"),
            ({"decision_account": "DECISION_ACCOUNT_SUSPENDED"}, "account_strike"),
            (
                {"decision_visibility": ["DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED"]},
                "age_gate",
            ),
            ({"decision_visibility": ["DECISION_VISIBILITY_CONTENT_LABELLED"]}, "label"),
            ({"decision_visibility": ["DECISION_VISIBILITY_CONTENT_DEMOTED"]}, "restrict"),
            (
                {"decision_visibility": None, "decision_monetary": "DECISION_MONETARY_SUSPENSION"},
                "restrict",
            ),
        ]
        for changes, action in cases:
            st, errors = validate_statement(statement(**changes), today=TODAY)
            assert st is not None, errors
            assert (changes, action_of(st)) == (changes, action)

    def test_a_long_puid_gives_ids_that_fit(self) -> None:
        st, _ = validate_statement(statement(puid="p" * 500), today=TODAY)
        assert st is not None
        escalation, decision = to_events(st)
        assert len(escalation["escalation_id"]) == len("dsa:sha256-") + 40
        assert len(decision["decision_id"]) <= 128


class TestCsv:
    def test_both_layouts_are_recognised(self) -> None:
        layout, rows = read_csv(csv_body([statement()]))
        assert (layout, len(rows)) == ("csv", 1)
        layout, rows = read_csv(csv_body([statement()], CSV_COLUMNS_V1))
        assert (layout, len(rows)) == ("csv_v1", 1)
        assert rows[0].line == 2
        assert rows[0].data["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_REMOVED"]
        assert rows[0].data["uuid"] == "post-1001"
        assert "puid" not in rows[0].data

    def test_comma_separated_arrays_are_read_too(self) -> None:
        body = csv_body([statement()]).replace(b'"[""DE""]"', b'"DE, FR"')
        _layout, rows = read_csv(body)
        assert rows[0].data["territorial_scope"] == ["DE", "FR"]


def refusal(body: bytes, **options: int) -> dict[str, Any]:
    """The problem document read_csv refuses ``body`` with."""
    with pytest.raises(InvalidInput) as refused:
        read_csv(body, **options)
    return refused.value.to_problem()


def long_rows(length: int) -> bytes:
    """A valid row (whose decision_facts holds quotes, a comma and a line break, so it takes
    lines 2 and 3), a blank line 4, and from line 5 a row whose
    decision_ground_reference_url has ``length`` characters."""
    facts = 'He wrote "no", then\nleft.'
    body = csv_body([statement(puid="u-1", decision_facts=facts)])
    long = csv_body([statement(puid="u-2", decision_ground_reference_url="x" * length)])
    return body + b"\r\n" + long.split(b"\r\n", 1)[1]


class TestStatementCount:
    def test_json_over_the_limit_is_refused_before_its_statements_are_held(self) -> None:
        with pytest.raises(PayloadTooLarge) as refused:
            read_json(orjson.dumps([statement()] * 4), max_statements=3)
        assert refused.value.detail == "an import may hold at most 3 statements; this one has 4"

    def test_csv_stops_at_the_first_row_over_the_limit(self) -> None:
        body = csv_body([statement(puid=f"u-{n}") for n in range(3)]) + b"x\r\n" * 1_000_000
        with pytest.raises(PayloadTooLarge) as refused:
            read_csv(body, max_statements=3)
        assert refused.value.detail == (
            "an import may hold at most 3 statements; this one has more"
        )
        _layout, rows = read_csv(body[: -len(b"x\r\n") * 1_000_000], max_statements=3)
        assert len(rows) == 3


class TestCsvBounds:
    def test_the_field_limit_is_64_kib_by_default(self) -> None:
        assert IngestSettings.model_fields["dsa_csv_max_field_chars"].default == 65_536

    def test_a_field_of_64_kib_is_read(self) -> None:
        _layout, rows = read_csv(long_rows(65_536))
        assert [(r.index, r.line) for r in rows] == [(0, 3), (1, 5)]
        assert rows[0].data["decision_facts"] == 'He wrote "no", then\nleft.'
        assert len(rows[1].data["decision_ground_reference_url"]) == 65_536

    def test_a_longer_field_is_refused_naming_its_row_and_column(self) -> None:
        problem = refusal(long_rows(65_537))
        assert problem["detail"] == "a field of the CSV body is longer than 65536 characters"
        assert problem["errors"] == [
            {
                "pointer": "/rows/1/decision_ground_reference_url",
                "field": "decision_ground_reference_url",
                "detail": "the row on line 5: decision_ground_reference_url is longer than "
                "65536 characters",
            }
        ]

    def test_the_limit_follows_the_setting(self) -> None:
        problem = refusal(long_rows(5_001), max_field_chars=5_000)
        assert problem["errors"][0]["pointer"] == "/rows/1/decision_ground_reference_url"
        assert problem["detail"] == "a field of the CSV body is longer than 5000 characters"

    def test_a_field_over_the_csv_modules_own_limit_is_refused_the_same_way(self) -> None:
        problem = refusal(long_rows(128 * 1024 + 1))
        assert problem["errors"] == [
            {
                "pointer": "/rows/1/decision_ground_reference_url",
                "field": "decision_ground_reference_url",
                "detail": "the row on line 5: decision_ground_reference_url is longer than "
                "65536 characters",
            }
        ]

    def test_the_field_over_the_csv_modules_limit_is_found_past_quoted_ones(self) -> None:
        # Written as 120,002 characters, the explanation holds 60,000 (each "" is one "),
        # within the limit; commas inside quotes do not start fields.
        row = statement(
            decision_visibility_other='a, "b", c',
            incompatible_content_explanation='"' * 60_000,
            decision_facts="y" * 140_000,
        )
        problem = refusal(csv_body([row]))
        assert [(e["pointer"], e["detail"]) for e in problem["errors"]] == [
            (
                "/rows/0/decision_facts",
                "the row on line 2: decision_facts is longer than 65536 characters",
            )
        ]

    def test_a_header_of_a_million_columns_is_refused_from_its_first_4_kib(self) -> None:
        header = ",".join(f"co{i:07d}" for i in range(1_000_000)).encode()
        problem = refusal(header + b"\n" + b"x\n" * 10)
        assert problem["errors"] == [
            {"pointer": "/header", "detail": "the CSV header is longer than 4096 characters"}
        ]

    def test_a_header_of_over_76_columns_is_refused(self) -> None:
        problem = refusal(",".join(["c"] * 77).encode() + b"\n")
        assert problem["errors"] == [
            {
                "pointer": "/header",
                "detail": "the CSV header has 77 columns; a DSA export has 37 or 38",
            }
        ]

    def test_a_header_with_a_few_stray_columns_still_names_each(self) -> None:
        columns = (*CSV_COLUMNS, *(f"extra_{i}" for i in range(38)))
        problem = refusal(csv_body([], columns))
        assert [e["field"] for e in problem["errors"]] == [f"extra_{i}" for i in range(38)]
        assert "errors_total" not in problem


class TestImportApi:
    async def stored(self, database_url: str) -> dict[str, dict[str, Any]]:
        conn = await asyncpg.connect(database_url)
        try:
            rows = await conn.fetch("SELECT event_id, body::text FROM ingest.events")
        finally:
            await conn.close()
        return {r["event_id"]: orjson.loads(r["body"]) for r in rows}

    async def test_json_statement_is_stored_once(
        self, client: httpx.AsyncClient, database_url: str
    ) -> None:
        first = await client.post(IMPORT, json=statement())
        assert first.status_code == 200, first.text
        item = first.json()["items"][0]
        assert first.json()["counts"] == {
            "received": 1,
            "accepted": 1,
            "duplicate": 0,
            "rejected": 0,
        }
        assert (item["status"], item["puid"], item["escalation_id"]) == (
            "accepted",
            "post-1001",
            "dsa:post-1001",
        )
        ids = {event_id("post-1001", "escalation"), event_id("post-1001", "decision")}
        stored = await eventually(lambda: self.stored(database_url), lambda s: len(s) == 2)
        assert set(stored) == ids
        again = await client.post(IMPORT, json=[statement()])
        assert again.json()["items"][0]["status"] == "duplicate"
        changed = await client.post(IMPORT, json=statement(application_date="2025-03-13"))
        assert changed.json()["items"][0]["reason"] == "conflict"
        assert changed.json()["items"][0]["errors"][0]["field"] == "puid"
        assert set(await self.stored(database_url)) == ids

    async def test_csv_of_both_layouts_with_per_row_results(
        self, client: httpx.AsyncClient, database_url: str
    ) -> None:
        rows = [
            statement(puid="u-1"),
            statement(puid="u-2", category="STATEMENT_CATEGORY_VIOLENCE", decision_facts=None),
            statement(puid="u-3", category="STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE"),
        ]
        answer = await client.post(
            IMPORT, content=csv_body(rows), headers={"content-type": "text/csv"}
        )
        assert answer.status_code == 200, answer.text
        result = answer.json()
        assert result["format"] == "csv"
        assert result["counts"] == {"received": 3, "accepted": 2, "duplicate": 0, "rejected": 1}
        assert [(i["index"], i["line"], i["puid"], i["status"]) for i in result["items"]] == [
            (0, 2, "u-1", "accepted"),
            (1, 3, "u-2", "rejected"),
            (2, 4, "u-3", "accepted"),
        ]
        assert result["items"][1]["errors"][0]["field"] == "decision_facts"
        old = await client.post(
            IMPORT,
            content=csv_body([statement(puid="u-4")], CSV_COLUMNS_V1),
            headers={"content-type": "text/csv; charset=utf-8"},
        )
        assert old.json()["format"] == "csv_v1"
        assert old.json()["counts"]["accepted"] == 1
        stored = await eventually(lambda: self.stored(database_url), lambda s: len(s) == 6)
        decisions = {b["escalation_id"]: b for b in stored.values() if "decision_id" in b}
        assert {k: v["clause_id"] for k, v in decisions.items()} == {
            "dsa:u-1": "HATE.INCITEMENT_TO_HATRED",
            "dsa:u-3": "INA.SPAM",
            "dsa:u-4": "HATE.INCITEMENT_TO_HATRED",
        }

    async def test_a_field_over_128_kib_is_a_422_not_a_server_error(
        self, client: httpx.AsyncClient, database_url: str
    ) -> None:
        answer = await client.post(
            IMPORT, content=long_rows(128 * 1024 + 1), headers={"content-type": "text/csv"}
        )
        assert answer.status_code == 422
        assert answer.headers["content-type"] == "application/problem+json"
        assert [(e["pointer"], e["field"]) for e in answer.json()["errors"]] == [
            ("/rows/1/decision_ground_reference_url", "decision_ground_reference_url")
        ]
        assert await self.stored(database_url) == {}

    async def test_a_header_of_a_million_columns_is_a_small_422(
        self, client: httpx.AsyncClient
    ) -> None:
        header = ",".join(f"co{i:07d}" for i in range(1_000_000)).encode()
        assert len(header) == 9_999_999
        answer = await client.post(IMPORT, content=header, headers={"content-type": "text/csv"})
        assert answer.status_code == 422
        assert answer.json()["errors"] == [
            {"pointer": "/header", "detail": "the CSV header is longer than 4096 characters"}
        ]
        assert len(answer.content) < 1_000

    async def test_an_answer_lists_the_first_100_errors_of_all_statements(
        self, client: httpx.AsyncClient
    ) -> None:
        # Three errors each: category, content_date and decision_facts.
        bad = statement(category="HATE", content_date="10/03/2025", decision_facts=None)
        answer = await client.post(IMPORT, json=[bad] * 300 + [statement()])
        assert answer.status_code == 200
        result = answer.json()
        assert result["counts"] == {"received": 301, "accepted": 1, "duplicate": 0, "rejected": 300}
        assert (result["errors_total"], result["errors_truncated"]) == (900, True)
        items = result["items"]
        assert [i["index"] for i in items] == list(range(301))
        assert [len(i.get("errors", ())) for i in items[:35]] == [3] * 33 + [1, 0]
        assert [e["field"] for e in items[33]["errors"]] == ["category"]
        assert {(i["status"], i["reason"]) for i in items[34:300]} == {("rejected", "invalid")}
        assert not any("errors" in i for i in items[34:])
        assert items[300]["status"] == "accepted"

    async def test_broker_failure_is_503_and_nothing_is_imported(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        database_url: str,
        unavailable: Callable[[httpx.Response, str, str], None],
    ) -> None:
        await app.state.runtime.producer.stop()
        response = await client.post(IMPORT, json=statement())
        unavailable(
            response,
            IMPORT,
            "the event broker did not acknowledge every event of the request; send the whole "
            "batch again: events it did take are recognised by their event_id",
        )
        assert await self.stored(database_url) == {}

    async def test_more_statements_than_allowed_are_a_413(self, client: httpx.AsyncClient) -> None:
        answer = await client.post(
            IMPORT,
            content=b"[" + b",".join([b"1"] * 5_001) + b"]",
            headers={"content-type": "application/json"},
        )
        assert answer.status_code == 413
        assert answer.json()["detail"] == (
            "an import may hold at most 5000 statements; this one has 5001"
        )

    async def test_request_level_errors(self, client: httpx.AsyncClient) -> None:
        wrong_type = await client.post(
            IMPORT, content=b"<xml/>", headers={"content-type": "application/xml"}
        )
        assert wrong_type.status_code == 415
        assert wrong_type.headers["content-type"] == "application/problem+json"
        bad_header = await client.post(
            IMPORT, content=b"uuid,category\nx,y\n", headers={"content-type": "text/csv"}
        )
        assert bad_header.status_code == 422
        fields = {e["field"] for e in bad_header.json()["errors"]}
        assert "decision_ground" in fields
        assert len(fields) == len(CSV_COLUMNS_V1) - 2
        not_json = await client.post(
            IMPORT, content=b"{", headers={"content-type": "application/json"}
        )
        assert not_json.status_code == 422
        not_object = await client.post(IMPORT, json=[1])
        assert not_object.json()["items"] == [
            {
                "index": 0,
                "status": "rejected",
                "reason": "invalid",
                "errors": [{"pointer": "", "detail": "expected a statement object"}],
            }
        ]
