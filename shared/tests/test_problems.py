from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from pydantic import BaseModel

from pp_shared.problems import (
    MAX_LISTED_ERRORS,
    InvalidInput,
    install_problem_handlers,
    truncate_item_errors,
)


def errors(n: int) -> list[dict[str, Any]]:
    return [{"pointer": f"/{i}", "detail": "wrong"} for i in range(n)]


class TestErrorLists:
    def test_the_limit_is_100(self) -> None:
        assert MAX_LISTED_ERRORS == 100

    def test_a_problem_lists_the_first_100_errors_and_counts_all(self) -> None:
        problem = InvalidInput("250 wrong", errors=errors(250)).to_problem("/x")
        assert problem["errors"] == errors(100)
        assert (problem["errors_total"], problem["errors_truncated"]) == (250, True)

    def test_a_problem_with_100_errors_lists_them_all_without_a_total(self) -> None:
        problem = InvalidInput("100 wrong", errors=errors(100)).to_problem()
        assert problem["errors"] == errors(100)
        assert "errors_total" not in problem
        assert "errors_truncated" not in problem

    def test_a_total_counts_errors_that_were_not_built(self) -> None:
        problem = InvalidInput("x", errors=errors(3), errors_total=7).to_problem()
        assert problem["errors"] == errors(3)
        assert (problem["errors_total"], problem["errors_truncated"]) == (7, True)

    def test_items_keep_the_first_100_errors_in_order(self) -> None:
        items: list[dict[str, Any]] = [
            {"index": 0, "errors": errors(60)},
            {"index": 1},
            {"index": 2, "errors": errors(30)},
            {"index": 3, "errors": errors(30)},
            {"index": 4, "errors": errors(5)},
        ]
        extra = truncate_item_errors(items, 125)
        assert extra == {"errors_total": 125, "errors_truncated": True}
        assert [len(i.get("errors", ())) for i in items] == [60, 0, 30, 10, 0]
        assert [("errors" in i) for i in items] == [True, False, True, True, False]
        assert items[3]["errors"] == errors(10)

    def test_items_within_the_limit_are_left_alone(self) -> None:
        items: list[dict[str, Any]] = [{"index": 0, "errors": errors(100)}]
        assert truncate_item_errors(items, 100) == {}
        assert items[0]["errors"] == errors(100)


class Ids(BaseModel):
    ids: list[int]


def app_with_a_body() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/ids")
    async def take(body: Ids) -> int:
        return len(body.ids)

    return app


class TestRequestValidation:
    async def test_a_body_with_1000_bad_values_lists_100_and_counts_1000(self) -> None:
        transport = httpx.ASGITransport(app=app_with_a_body())
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.post("/ids", json={"ids": ["x"] * 1000})
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["detail"] == "1000 field(s) failed validation"
        assert [e["pointer"] for e in problem["errors"]] == [f"/body/ids/{i}" for i in range(100)]
        assert (problem["errors_total"], problem["errors_truncated"]) == (1000, True)
        assert len(response.content) < 20_000
