from __future__ import annotations

from typing import Any, Literal

import pytest
from fastapi import FastAPI
from pydantic import BaseModel, TypeAdapter

from pp_shared.openapi import install_openapi

PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


class Colour(BaseModel):
    name: Literal["red", "green"]


class Thing(BaseModel):
    colour: Colour


def body_with_defs(model: type[BaseModel]) -> dict[str, Any]:
    """A request body injected by hand, its definitions in ``$defs`` as pydantic makes them."""
    schema = TypeAdapter(list[model]).json_schema(  # type: ignore[valid-type]
        ref_template="#/components/schemas/{model}"
    )
    assert "$defs" in schema
    return {"requestBody": {"content": {"application/json": {"schema": schema}}}}


def app_of(responses: dict[str, dict[int, str]] | None = None) -> FastAPI:
    app = FastAPI()

    @app.post(
        "/v1/things", openapi_extra=body_with_defs(Thing), responses={409: {"description": "taken"}}
    )
    async def add_things() -> None:
        """Takes its body raw."""

    @app.get("/v1/things/{thing_id}")
    async def get_thing(thing_id: int) -> None:
        """One thing."""

    @app.get("/ping")
    async def ping() -> None:
        """No input, not under /v1."""

    install_openapi(app, responses=responses)
    return app


class TestInstallOpenapi:
    def test_definitions_of_injected_schemas_move_to_components(self) -> None:
        spec = app_of().openapi()
        body = spec["paths"]["/v1/things"]["post"]["requestBody"]["content"]["application/json"]
        assert body["schema"] == {
            "type": "array",
            "items": {"$ref": "#/components/schemas/Thing"},
        }
        schemas = spec["components"]["schemas"]
        assert schemas["Thing"]["properties"]["colour"] == {"$ref": "#/components/schemas/Colour"}
        assert schemas["Colour"]["properties"]["name"]["enum"] == ["red", "green"]

    def test_the_module_level_schema_is_left_alone(self) -> None:
        first, second = app_of().openapi(), app_of().openapi()
        assert first == second

    def test_problems_are_added_and_declared_answers_kept(self) -> None:
        spec = app_of({"GET /v1/things/{thing_id}": {410: "gone"}}).openapi()
        post = spec["paths"]["/v1/things"]["post"]["responses"]
        assert sorted(post) == ["200", "400", "409", "413", "415", "422", "503"]
        assert post["409"] == {"description": "taken", "content": PROBLEM}
        get = spec["paths"]["/v1/things/{thing_id}"]["get"]["responses"]
        assert sorted(get) == ["200", "404", "410", "422", "503"]
        assert get["410"] == {"description": "gone", "content": PROBLEM}
        assert get["422"]["content"] == PROBLEM
        assert sorted(spec["paths"]["/ping"]["get"]["responses"]) == ["200"]
        assert "HTTPValidationError" not in spec["components"]["schemas"]

    def test_operation_ids_are_the_handlers_names(self) -> None:
        spec = app_of().openapi()
        assert [
            spec["paths"][p][m]["operationId"]
            for p, m in (("/v1/things", "post"), ("/v1/things/{thing_id}", "get"), ("/ping", "get"))
        ] == ["add_things", "get_thing", "ping"]

    def test_answers_for_an_operation_that_does_not_exist_are_an_error(self) -> None:
        app = app_of({"GET /v1/thing": {410: "gone"}})
        with pytest.raises(ValueError, match="do not exist: \\['GET /v1/thing'\\]"):
            app.openapi()

    def test_two_different_schemas_of_one_name_are_an_error(self) -> None:
        app = app_of()

        class Colour(BaseModel):  # another model of the same name
            hue: int

        # (A return annotation would name the module's Colour: annotations are strings here.)
        @app.get("/v1/colour", response_model=Colour)
        async def colour() -> dict[str, int]:
            return {"hue": 1}

        with pytest.raises(ValueError, match="two different schemas are named Colour"):
            app.openapi()
