"""The change each rollup row takes from the fact rows a batch removed and wrote."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from pp_insights.buckets import floor_to
from pp_insights.rollups import CUBE_TABLE, ROLLUP_COUNTERS, ROLLUP_TABLES, Grain


class Delta(NamedTuple):
    """The change of one rollup row: its key, what to add to each counter (in
    ``ROLLUP_COUNTERS`` order) and to each latency bin (ascending, none zero)."""

    key: tuple[Any, ...]
    counters: tuple[int, ...]
    bins: tuple[int, ...]
    counts: tuple[int, ...]


ROLLUPS: tuple[tuple[str, Grain], ...] = (
    (ROLLUP_TABLES["hour"], "hour"),
    (ROLLUP_TABLES["day"], "day"),
    (CUBE_TABLE, "day"),
)
"""Every rollup table a batch changes, with the grain of its buckets."""


def rollup_deltas(
    rows: Sequence[Mapping[str, Any]], grain: Grain, dimensions: Sequence[str]
) -> list[Delta]:
    """The change of every rollup row (bucket of ``grain`` by ``dimensions``) that the fact
    rows removed (``is_new`` false) and written (``is_new`` true) make, in key order; rows
    that do not change are left out."""
    counters: dict[tuple[Any, ...], list[int]] = {}
    bins: dict[tuple[Any, ...], dict[int, int]] = {}
    width = len(ROLLUP_COUNTERS)
    for r in rows:
        sign = 1 if r["is_new"] else -1
        key = (floor_to(r["created_at"], grain), *(r[d] for d in dimensions))
        sums = counters.get(key)
        if sums is None:
            sums = counters[key] = [0] * width
            bins[key] = {}
        for i, c in enumerate(ROLLUP_COUNTERS):
            sums[i] += sign * r[c]
        if r["latency_bin"] is not None:
            hist = bins[key]
            hist[r["latency_bin"]] = hist.get(r["latency_bin"], 0) + sign
    deltas = []
    for key in sorted(counters):
        hist = {b: n for b, n in sorted(bins[key].items()) if n}
        if any(counters[key]) or hist:
            deltas.append(Delta(key, tuple(counters[key]), tuple(hist), tuple(hist.values())))
    return deltas
