"""Bad input to calibration: every row answered on its own, problems with field paths, and
nothing accepted ever lost."""

from __future__ import annotations

import httpx

from .calibration_support import BASE, CSV, JSON, csv_text, exercise, golden_set, respond

CASES = [("c1", "one", "HATE.SLURS"), ("c2", "two", "none")]


async def _stored(client: httpx.AsyncClient, exercise_id: int) -> int:
    responses: int = (await client.get(f"{BASE}/exercises/{exercise_id}")).json()["responses"]
    return responses


class TestResponses:
    async def test_each_row_on_its_own(self, client: httpx.AsyncClient) -> None:
        golden = await golden_set(client, "rows", CASES, clauses=["HATE.SLURS"])
        ex = await exercise(client, golden)
        answer = await respond(client, ex, [
            ("m1", "c1", "HATE.SLURS"),
            ("m1", "c9", "HATE.SLURS"),      # no such case
            ("m2", "c1", "VBDA.THREATS"),    # not a clause of the set
            ("m2", "c2", "hate"),            # not a clause id at all
            ("m2", "c1", "none"),
        ])  # fmt: skip
        assert answer["counts"] == {
            "received": 5, "accepted": 2, "replaced": 0, "superseded": 0, "rejected": 3
        }  # fmt: skip
        items = answer["items"]
        assert [i["status"] for i in items] == [
            "accepted", "rejected", "rejected", "rejected", "accepted"
        ]  # fmt: skip
        assert [i.get("reason") for i in items[1:4]] == [
            "unknown_case",
            "unknown_clause",
            "invalid",
        ]
        assert items[1]["errors"][0]["pointer"] == "/case_id"
        assert items[2]["errors"][0]["pointer"] == "/clause_id"
        assert items[3]["errors"][0]["pointer"] == "/clause_id"
        assert [i["line"] for i in items] == [2, 3, 4, 5, 6]
        assert await _stored(client, ex) == 2

    async def test_the_latest_answer_wins(self, client: httpx.AsyncClient) -> None:
        golden = await golden_set(client, "latest", CASES)
        ex = await exercise(client, golden)
        first = await respond(client, ex, [("m1", "c1", "none"), ("m1", "c1", "HATE.SLURS")])
        assert [i["status"] for i in first["items"]] == ["superseded", "accepted"]
        again = await client.post(
            f"{BASE}/exercises/{ex}/responses",
            json={"responses": [{"moderator_id": "m1", "case_id": "c1", "clause_id": "none",
                                 "confidence": 0.4, "reason": "satire"}]},
        )  # fmt: skip
        assert again.json()["items"] == [{"index": 0, "status": "replaced"}]
        assert await _stored(client, ex) == 1
        moderators = (await client.get(f"{BASE}/exercises/{ex}/results/moderators")).json()
        assert (moderators[0]["correct"], moderators[0]["judged"]) == (0, 1)

    async def test_a_closed_exercise_takes_nothing(self, client: httpx.AsyncClient) -> None:
        golden = await golden_set(client, "closed", CASES)
        ex = await exercise(client, golden)
        await respond(client, ex, [("m1", "c1", "none")])
        closed = await client.post(f"{BASE}/exercises/{ex}/close", headers=JSON)
        assert closed.status_code == 200
        answer = await respond(client, ex, [("m1", "c2", "none"), ("m2", "c1", "none")])
        assert answer["counts"]["rejected"] == 2
        assert {i["reason"] for i in answer["items"]} == {"closed"}
        assert answer["items"][0]["errors"] == [
            {"pointer": "", "detail": f"exercise {ex} is closed"}
        ]
        assert await _stored(client, ex) == 1
        again = await client.post(f"{BASE}/exercises/{ex}/close", headers=JSON)
        assert again.status_code == 409
        assert again.headers["content-type"] == "application/problem+json"

    async def test_unknown_exercise(self, client: httpx.AsyncClient) -> None:
        for method, path in [
            ("POST", f"{BASE}/exercises/999/responses"),
            ("POST", f"{BASE}/exercises/999/close"),
            ("GET", f"{BASE}/exercises/999/results"),
            ("GET", f"{BASE}/exercises/999/results/moderators"),
        ]:
            answer = await client.request(method, path, content="[]", headers=JSON)
            assert answer.status_code == 404, path
            assert answer.json()["detail"] == "no exercise 999"

    async def test_csv_without_a_required_column(self, client: httpx.AsyncClient) -> None:
        golden = await golden_set(client, "columns", CASES)
        ex = await exercise(client, golden)
        body = csv_text(("moderator_id", "case", "clause_id"), [("m1", "c1", "none")])
        answer = await client.post(f"{BASE}/exercises/{ex}/responses", content=body, headers=CSV)
        assert answer.status_code == 422
        assert {(e["pointer"], e["detail"]) for e in answer.json()["errors"]} == {
            ("/header/case_id", "missing column"),
            ("/header/1", "unknown column"),
        }
        assert await _stored(client, ex) == 0

    async def test_a_row_with_more_cells_than_columns(self, client: httpx.AsyncClient) -> None:
        golden = await golden_set(client, "cells", CASES)
        ex = await exercise(client, golden)
        body = "moderator_id,case_id,clause_id\r\nm1,c1,none\r\nm1,c2,none,extra\r\n"
        answer = (
            await client.post(f"{BASE}/exercises/{ex}/responses", content=body, headers=CSV)
        ).json()
        assert [i["status"] for i in answer["items"]] == ["accepted", "rejected"]
        assert answer["items"][1]["errors"] == [
            {"pointer": "", "detail": "more cells than header columns"}
        ]

    async def test_a_body_neither_json_nor_csv(self, client: httpx.AsyncClient) -> None:
        golden = await golden_set(client, "media", CASES)
        ex = await exercise(client, golden)
        answer = await client.post(
            f"{BASE}/exercises/{ex}/responses", content="x", headers={"content-type": "text/plain"}
        )
        assert answer.status_code == 415


class TestGoldenSets:
    async def test_every_bad_case_is_named_and_nothing_is_stored(
        self, client: httpx.AsyncClient
    ) -> None:
        body = csv_text(
            ("case_id", "text", "expected_clause_id"),
            [("c1", "one", "HATE.SLURS"), ("c1", "again", "none"), ("c3", "", "none"),
             ("c4", "four", "VBDA.THREATS")],
        )  # fmt: skip
        answer = await client.post(
            f"{BASE}/golden-sets", params={"name": "bad", "clauses": ["HATE.SLURS"]},
            content=body, headers=CSV,
        )  # fmt: skip
        assert answer.status_code == 422
        assert [(e["pointer"], e["detail"]) for e in answer.json()["errors"]] == [
            ("/rows/1/case_id", "case_id named twice"),
            ("/rows/2/text", "a case needs its text or a content_ref"),
            ("/rows/3/expected_clause_id", "not a clause of the set's taxonomy"),
        ]
        assert (await client.get(f"{BASE}/golden-sets")).json() == []

    async def test_a_name_again_is_the_next_version(self, client: httpx.AsyncClient) -> None:
        first = await golden_set(client, "hate", CASES)
        second = await client.post(
            f"{BASE}/golden-sets?name=hate",
            json={"taxonomy_version": "2026-11", "cases": [
                {"case_id": "c1", "content_ref": "content:1", "expected_clause_id": "none"}
            ]},
        )  # fmt: skip
        assert second.status_code == 201
        listed = (await client.get(f"{BASE}/golden-sets")).json()
        assert [(g["id"], g["version"], g["taxonomy_version"]) for g in listed] == [
            (first, 1, None), (second.json()["id"], 2, "2026-11")
        ]  # fmt: skip

    async def test_without_a_name(self, client: httpx.AsyncClient) -> None:
        answer = await client.post(
            f"{BASE}/golden-sets", content=csv_text(("case_id", "text", "expected_clause_id"),
                                                    [("c1", "x", "none")]), headers=CSV
        )  # fmt: skip
        assert answer.status_code == 422
        assert answer.json()["errors"] == [{"pointer": "/query/name", "detail": "missing"}]

    async def test_an_exercise_of_an_unknown_set(self, client: httpx.AsyncClient) -> None:
        answer = await client.post(f"{BASE}/exercises", json={"name": "x", "golden_set_id": 42})
        assert answer.status_code == 422
        assert answer.json()["errors"][0]["pointer"] == "/body/golden_set_id"

    async def test_comparison_needs_the_same_golden_set(self, client: httpx.AsyncClient) -> None:
        one = await exercise(client, await golden_set(client, "a", CASES))
        two = await exercise(client, await golden_set(client, "b", CASES))
        answer = await client.get(f"{BASE}/exercises/{two}/comparison", params={"baseline": one})
        assert answer.status_code == 422
        assert answer.json()["errors"][0]["pointer"] == "/query/baseline"
