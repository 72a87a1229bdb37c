"""The draft simulation form's parts: the form read (pasted or uploaded), the draft parsed
(YAML or JSON), its tables narrowed to the key's areas, and each as CSV."""

from __future__ import annotations

import asyncio
from urllib.parse import unquote

import pytest
from starlette.requests import Request

from pp_gateway.console.routes.simulation import csv_link, draft_form, parse_draft, visible
from pp_gateway.console.web import Refused

BOUNDARY = "----pp-test-boundary"


def _request(body: bytes, content_type: str) -> Request:
    sent = False

    async def receive() -> dict[str, object]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/taxonomy/simulate",
        "headers": [(b"content-type", content_type.encode())],
    }
    return Request(scope, receive)


def test_an_uploaded_file_and_the_fields_beside_it_are_read() -> None:
    body = (
        f"--{BOUNDARY}\r\n"
        'content-disposition: form-data; name="csrf_token"\r\n\r\n'
        "abc\r\n"
        f"--{BOUNDARY}\r\n"
        'content-disposition: form-data; name="draft"\r\n\r\n'
        "\r\n"
        f"--{BOUNDARY}\r\n"
        'content-disposition: form-data; name="draft_file"; filename="d.yaml"\r\n'
        "content-type: application/x-yaml\r\n\r\n"
        'version: "2099.1.0"\nareas: []\n\r\n'
        f"--{BOUNDARY}\r\n"
        'content-disposition: form-data; name="days"\r\n\r\n'
        "30\r\n"
        f"--{BOUNDARY}--\r\n"
    ).encode()
    form = asyncio.run(draft_form(_request(body, f"multipart/form-data; boundary={BOUNDARY}")))
    assert form == {
        "csrf_token": ["abc"],
        "draft": [""],
        "draft_file": ['version: "2099.1.0"\nareas: []\n'],
        "days": ["30"],
    }


def test_a_pasted_draft_comes_urlencoded() -> None:
    body = b"csrf_token=abc&draft=%7B%22version%22%3A+%221%22%7D&days=7"
    form = asyncio.run(draft_form(_request(body, "application/x-www-form-urlencoded")))
    assert form == {"csrf_token": ["abc"], "draft": ['{"version": "1"}'], "days": ["7"]}


def test_a_draft_is_json_or_yaml_and_a_mapping() -> None:
    assert parse_draft('{"version": "2099.1.0", "areas": []}') == {
        "version": "2099.1.0",
        "areas": [],
    }
    assert parse_draft("version: '2099.1.0'\nareas:\n  - id: HATE\n") == {
        "version": "2099.1.0",
        "areas": [{"id": "HATE"}],
    }
    for text, said in (
        ("", "paste a draft"),
        ("- a\n- b\n", "a mapping"),
        ('{"version": ', "neither JSON nor YAML"),
        ("a: [b\n", "neither JSON nor YAML"),
    ):
        with pytest.raises(Refused) as refused:
            parse_draft(text)
        assert refused.value.status == 422
        assert said in refused.value.detail


def test_a_restricted_key_sees_its_areas_rows_only() -> None:
    result = {
        "clauses": [
            {"clause_id": "HATE.A", "area": "HATE"},
            {"clause_id": "VBDA.B", "area": "VBDA"},
        ],
        "moves": [
            {"from_clause": "HATE.A", "to_clause": "none", "count": 3, "examples": []},
            {"from_clause": "VBDA.B", "to_clause": "none", "count": 2, "examples": []},
            {"from_clause": "VBDA.B", "to_clause": "HATE.A", "count": 1, "examples": []},
        ],
    }
    shown = visible(result, ["HATE"])
    assert [c["clause_id"] for c in shown["clauses"]] == ["HATE.A"]
    assert [m["count"] for m in shown["moves"]] == [3, 1]


def test_a_table_as_a_csv_link() -> None:
    rows = [
        {"from_clause": "HATE.A", "to_clause": "HATE.B", "count": 2, "examples": ["e1", "e2"]},
        {"from_clause": "HATE.B", "to_clause": "none", "count": 1, "examples": []},
    ]
    link = csv_link(rows, ("from_clause", "to_clause", "count", "examples"))
    prefix = "data:text/csv;charset=utf-8,"
    assert link.startswith(prefix)
    assert unquote(link[len(prefix) :]) == (
        "from_clause,to_clause,count,examples\nHATE.A,HATE.B,2,e1 e2\nHATE.B,none,1,\n"
    )
