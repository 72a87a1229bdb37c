"""The rollups' write path: the change a batch's fact rows make to each rollup row, and the
sparse histogram sum that applies it in Postgres."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from pp_insights.facts.deltas import Delta, rollup_deltas
from pp_insights.metrics_def import DIMENSIONS
from pp_insights.rollups import ROLLUP_COUNTERS
from pp_shared.db import Pool

AT = datetime(2026, 11, 20, 10, 15, tzinfo=UTC)


def fact(is_new: bool, *, at: datetime = AT, region: str = "DE", **counters: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "is_new": is_new,
        "escalation_id": "esc-1",
        "created_at": at,
        **dict.fromkeys(DIMENSIONS, "x"),
        "region": region,
        **dict.fromkeys(ROLLUP_COUNTERS, 0),
        "volume": 1,
        "latency_bin": None,
    }
    row.update(counters)
    return row


class TestRollupDeltas:
    def test_a_new_escalation_adds_its_counters_and_bin(self) -> None:
        [d] = rollup_deltas([fact(True, decided=1, latency_bin=7)], "hour", ("region",))
        assert d == Delta(
            (datetime(2026, 11, 20, 10, tzinfo=UTC), "DE"), (1, 0, 1, 0, 0, 0, 0, 0), (7,), (1,)
        )

    def test_a_decision_changes_the_counters_not_the_volume(self) -> None:
        rows = [fact(False), fact(True, decided=1, appeals_resolved=2, latency_bin=3)]
        [d] = rollup_deltas(rows, "day", ("region",))
        assert d.key == (datetime(2026, 11, 20, tzinfo=UTC), "DE")
        assert d.counters == (0, 0, 1, 2, 0, 0, 0, 0)
        assert (d.bins, d.counts) == ((3,), (1,))

    def test_a_moved_escalation_leaves_one_row_and_joins_another(self) -> None:
        rows = [
            fact(False, decided=1, latency_bin=5),
            fact(True, at=datetime(2026, 11, 19, 23, 59, tzinfo=UTC), decided=1, latency_bin=4),
        ]
        day_19, day_20 = (datetime(2026, 11, d, tzinfo=UTC) for d in (19, 20))
        assert rollup_deltas(rows, "day", ("region",)) == [
            Delta((day_19, "DE"), (1, 0, 1, 0, 0, 0, 0, 0), (4,), (1,)),
            Delta((day_20, "DE"), (-1, 0, -1, 0, 0, 0, 0, 0), (5,), (-1,)),
        ]

    def test_an_unchanged_fact_changes_nothing_and_bins_that_cancel_are_dropped(self) -> None:
        same = [fact(False, decided=1, latency_bin=2), fact(True, decided=1, latency_bin=2)]
        assert rollup_deltas(same, "hour", DIMENSIONS) == []
        # An appeal arrives: the decision's bin cancels out, the appeal counts.
        appealed = [fact(False, latency_bin=2), fact(True, appeals_resolved=1, latency_bin=2)]
        [d] = rollup_deltas(appealed, "hour", ("region",))
        assert (d.counters, d.bins, d.counts) == ((0, 0, 0, 1, 0, 0, 0, 0), (), ())
        # A second escalation of the key: its first decision moves from bin 3 to bin 2.
        rows = [*same, fact(False, latency_bin=3), fact(True, latency_bin=2)]
        [d] = rollup_deltas(rows, "hour", ("region",))
        assert (d.counters, d.bins, d.counts) == ((0,) * 8, (2, 3), (1, -1))

    def test_keys_come_in_order_and_group_only_by_the_given_dimensions(self) -> None:
        rows = [fact(True, region="FR"), fact(True, region="DE"), fact(True, region="DE")]
        assert [(d.key[1], d.counters[0]) for d in rollup_deltas(rows, "hour", ("region",))] == [
            ("DE", 2),
            ("FR", 1),
        ]
        [whole] = rollup_deltas(rows, "day", ())
        assert whole.counters[0] == 3


class TestSparseAdd:
    @pytest.mark.parametrize(
        ("a", "b", "want"),
        [
            (([], []), ([], []), ([], [])),
            (([1, 4], [2, 1]), ([], []), ([1, 4], [2, 1])),
            (([], []), ([0, 9], [1, 3]), ([0, 9], [1, 3])),
            (([1, 4, 8], [2, 1, 5]), ([0, 4, 9], [1, 2, 1]), ([0, 1, 4, 8, 9], [1, 2, 3, 5, 1])),
            # A bin whose count falls to zero leaves the sparse form.
            (([1, 4], [2, 1]), ([4], [-1]), ([1], [2])),
            (([1, 4], [2, 1]), ([1, 4], [-2, -1]), ([], [])),
        ],
    )
    async def test_sum_keeps_ascending_non_zero_bins(
        self,
        pool: Pool,
        a: tuple[list[int], list[int]],
        b: tuple[list[int], list[int]],
        want: tuple[list[int], list[int]],
    ) -> None:
        row = await pool.fetchrow(
            "SELECT * FROM insights.sparse_add($1::smallint[], $2::bigint[],"
            " $3::smallint[], $4::bigint[])",
            *a,
            *b,
        )
        assert row is not None
        assert (list(row["sum_bins"]), list(row["sum_counts"])) == want
