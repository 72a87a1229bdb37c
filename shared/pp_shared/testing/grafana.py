"""Grafana dashboards as tests read them: their panels and queries, and the SQL of a panel with
its variables and time macros substituted the way Grafana's PostgreSQL data source does."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ALL = "$__all"
"""The value Grafana stores for "All" of a variable that includes it."""
BUILTINS = frozenset(
    {
        "__timeFrom",
        "__timeTo",
        "__timeFilter",
        "__interval",
        "__interval_ms",
        "__rate_interval",
        "__range",
        "__range_s",
        "__range_ms",
        "__dashboard",
        "__from",
        "__to",
    }
)
# $name, ${name} and ${name:format}; [[name]] is the deprecated spelling.
VARIABLE = re.compile(r"\$\{(\w+)(?::(\w+))?\}|\$(\w+)|\[\[(\w+)\]\]")
_MACRO = re.compile(r"\$(__timeFrom|__timeTo)\(\)")

Selection = Mapping[str, str | Sequence[str]]
"""Variable values chosen: a string for a single-value variable, a list for a multi-value one
(``[ALL]`` for All); a variable not named keeps its dashboard default."""


def load(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as f:
        dashboard: dict[str, Any] = json.load(f)
    return dashboard


def panels(dashboard: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, those inside rows included, rows left out."""
    stack = list(reversed(dashboard.get("panels", [])))
    while stack:
        panel = stack.pop()
        stack.extend(reversed(panel.get("panels", [])))
        if panel["type"] != "row":
            yield panel


def query_of(target: Mapping[str, Any]) -> str:
    """A target's PromQL (``expr``) or SQL (``rawSql``)."""
    text = target.get("expr", target.get("rawSql", ""))
    assert isinstance(text, str)
    return text


def variables_used(text: str) -> set[str]:
    return {next(g for g in m.groups() if g) for m in VARIABLE.finditer(text)} - BUILTINS


def variables(dashboard: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["name"]: v for v in dashboard.get("templating", {}).get("list", [])}


def _sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _timestamp(ts: datetime) -> str:
    """As Grafana writes $__timeFrom() and $__timeTo(): a quoted RFC 3339 UTC literal."""
    return "'" + ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") + "'"


def interpolate(
    sql: str, dashboard: Mapping[str, Any], selection: Selection, *, start: datetime, end: datetime
) -> str:
    """``sql`` as Grafana sends it to PostgreSQL: ``$__timeFrom()`` and ``$__timeTo()`` as
    quoted timestamps; a single-value variable as its raw value; a multi-value variable as
    its values quoted and joined by commas, or, for All, its custom all value verbatim."""
    defined = variables(dashboard)
    sql = _MACRO.sub(lambda m: _timestamp(start if m[1] == "__timeFrom" else end), sql)

    def value_of(match: re.Match[str]) -> str:
        name = next(g for g in (match[1], match[3], match[4]) if g)
        if name in BUILTINS:
            raise AssertionError(f"${name} is not substituted here")
        variable = defined[name]
        chosen = selection.get(name, variable["current"]["value"])
        if isinstance(chosen, str):
            assert not variable.get("multi"), name
            return chosen
        values = list(chosen)
        if values == [ALL]:
            all_value: str | None = variable.get("allValue")
            assert all_value, f"{name}: All without a custom all value"
            return all_value
        assert values, name
        assert ALL not in values, name
        return ",".join(_sql_literal(v) for v in values)

    return VARIABLE.sub(value_of, sql)
