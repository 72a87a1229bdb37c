"""Which rollup rows cover a comparison's two periods (pure logic; the sums themselves are
checked against brute force in test_queries_bruteforce)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pp_insights.queries.periods import periods_of
from pp_insights.queries.repository import period_spans

DAY = datetime(2026, 11, 28, tzinfo=UTC)


def at(days: int, hours: int = 0) -> datetime:
    return DAY + timedelta(days=days, hours=hours)


def test_whole_days_from_the_daily_rollup_and_the_edges_by_hour() -> None:
    # Seven days to 17:42 on 5 December: whole hours from 17:00 on the 28th to 18:00, and
    # the period of equal length before, from 16:00 on the 21st.
    periods = periods_of(at(0, 17) + timedelta(minutes=42), at(7, 17) + timedelta(minutes=42))
    assert (periods.previous_start, periods.start, periods.end) == (
        at(-7, 16),
        at(0, 17),
        at(7, 18),
    )
    assert period_spans(periods) == {
        "day": [(at(-6), at(0)), (at(1), at(7))],
        "hour": [(at(-7, 16), at(-6)), (at(0), at(0, 17)), (at(0, 17), at(1)), (at(7), at(7, 18))],
    }


def test_a_period_without_a_whole_day_is_read_by_hour() -> None:
    periods = periods_of(at(0, 5), at(0, 23))
    assert period_spans(periods) == {
        "day": [],
        "hour": [(at(-1, 11), at(0, 5)), (at(0, 5), at(0, 23))],
    }


def test_a_period_on_midnights_is_read_by_day() -> None:
    periods = periods_of(at(0), at(7))
    assert period_spans(periods) == {"day": [(at(-7), at(7))], "hour": []}
