"""A trend's answer laid over every bucket of the page's period, per group.

The trends API answers only the buckets and groups that have a sample. What a missing one
means depends on the metric: a count (volume) without rows is zero escalations, so it is
drawn and listed as 0; a rate or a latency without a sample has no value, so its line has a
gap there and its table row says "no sample"."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pp_gateway.console import charts
from pp_gateway.console.formats import parse_time

COUNT = "count"
RATE = "rate"
NO_SAMPLE = "no sample"


@dataclass(frozen=True, slots=True)
class Grid:
    """The chart's lines (the ``top`` largest groups) and the table: one row per bucket and
    group, in bucket order then the groups' order. A row without a sample has ``gap`` True
    (never for a count)."""

    groups: list[str]
    series: list[charts.Series]
    table: list[dict[str, Any]]
    columns: list[str]


def value_of(row: dict[str, Any]) -> float | None:
    """A trend row's value: the median for latency."""
    value = row.get("value", row.get("p50"))
    return None if value is None else float(value)


def _weight(rows: Sequence[dict[str, Any]]) -> float:
    return sum(float(r.get("denominator", r.get("value", r.get("count", 0))) or 0) for r in rows)


def grid(
    buckets: Sequence[datetime],
    rows: Sequence[dict[str, Any]],
    *,
    kind: str,
    group: str = "",
    columns: Sequence[str] = (),
    name: str = "",
    top: int = 5,
    listed_groups: Sequence[str] | None = None,
) -> Grid:
    """``rows`` of a trend answer of ``kind`` (grouped by ``group`` when given) over
    ``buckets``. ``columns`` are the value columns to list (those of the rows when empty);
    ``name`` names the one line of an ungrouped trend; ``listed_groups``: the groups the
    table lists (every group when None)."""
    by_group: dict[str, dict[datetime, dict[str, Any]]] = {}
    for r in rows:
        key = str(r.get(group)) if group else name
        by_group.setdefault(key, {})[parse_time(str(r["bucket"]))] = r
    if not group:
        by_group.setdefault(name, {})
    weight = {g: _weight(list(cells.values())) for g, cells in by_group.items()}
    groups = sorted(by_group, key=lambda g: (-weight[g], g))
    listed = list(columns) or [
        c for c in (rows[0] if rows else {"value": None}) if c not in ("bucket", group)
    ]
    rate = kind == RATE
    series = []
    for g in groups[:top]:
        cells = [by_group[g].get(b) for b in buckets]
        series.append(
            charts.Series(
                g,
                [_cell_value(c, kind) for c in cells],
                [c.get("ci_low") if c else None for c in cells] if rate else None,
                [c.get("ci_high") if c else None for c in cells] if rate else None,
            )
        )
    table = []
    shown = sorted(groups if listed_groups is None else set(listed_groups) & set(groups))
    for b in buckets:
        for g in shown:
            found = by_group[g].get(b)
            row: dict[str, Any] = {"bucket": b, "gap": False}
            if group:
                row[group] = g
            if found is not None:
                row.update({c: found.get(c) for c in listed})
            elif kind == COUNT:
                row.update({c: 0 for c in listed})
            else:
                row.update({c: None for c in listed})
                row["gap"] = True
            table.append(row)
    return Grid(groups, series, table, listed)


def _cell_value(cell: dict[str, Any] | None, kind: str) -> float | None:
    if cell is not None:
        return value_of(cell)
    return 0.0 if kind == COUNT else None
