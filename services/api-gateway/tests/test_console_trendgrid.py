"""A grouped trend over every bucket: a count without rows is 0, a rate or a latency without
a sample is a gap that the table names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pp_gateway.console import charts, trendgrid
from pp_gateway.console.web import Console

DAY = [datetime(2026, 11, 1, tzinfo=UTC) + timedelta(days=i) for i in range(3)]


def _at(i: int) -> str:
    return DAY[i].isoformat().replace("+00:00", "Z")


def test_a_count_without_rows_is_zero_in_the_line_and_the_table() -> None:
    rows = [
        {"bucket": _at(0), "region": "DE", "value": 4},
        {"bucket": _at(2), "region": "DE", "value": 1},
        {"bucket": _at(1), "region": "US", "value": 7},
    ]
    drawn = trendgrid.grid(DAY, rows, kind="count", group="region")
    assert drawn.groups == ["US", "DE"]  # by weight: 7 against 5
    assert drawn.series == [
        charts.Series("US", [0.0, 7.0, 0.0]),
        charts.Series("DE", [4.0, 0.0, 1.0]),
    ]
    assert drawn.columns == ["value"]
    assert [(r["bucket"].day, r["region"], r["value"], r["gap"]) for r in drawn.table] == [
        (1, "DE", 4, False),
        (1, "US", 0, False),
        (2, "DE", 0, False),
        (2, "US", 7, False),
        (3, "DE", 1, False),
        (3, "US", 0, False),
    ]


def test_a_rate_without_a_sample_is_a_gap_said_in_the_table() -> None:
    columns = ["value", "numerator", "denominator", "ci_low", "ci_high"]
    rows = [
        {
            "bucket": _at(0),
            "region": "DE",
            "value": 0.25,
            "numerator": 1,
            "denominator": 4,
            "ci_low": 0.0456,
            "ci_high": 0.6994,
        },
        {
            "bucket": _at(2),
            "region": "DE",
            "value": 0.5,
            "numerator": 1,
            "denominator": 2,
            "ci_low": 0.0945,
            "ci_high": 0.9055,
        },
    ]
    drawn = trendgrid.grid(DAY, rows, kind="rate", group="region", columns=columns)
    assert drawn.series == [
        charts.Series("DE", [0.25, None, 0.5], [0.0456, None, 0.0945], [0.6994, None, 0.9055])
    ]
    gap = drawn.table[1]
    assert (gap["bucket"], gap["gap"]) == (DAY[1], True)
    assert [gap[c] for c in columns] == [None] * 5
    assert [(r["value"], r["denominator"], r["gap"]) for r in drawn.table] == [
        (0.25, 4, False),
        (None, None, True),
        (0.5, 2, False),
    ]


def test_a_latency_without_a_sample_is_a_gap_and_its_line_is_the_median() -> None:
    rows = [{"bucket": _at(1), "count": 3, "p50": 42.5, "p90": 120.0}]
    drawn = trendgrid.grid(DAY, rows, kind="quantiles", name="Decision latency")
    assert drawn.series == [charts.Series("Decision latency", [None, 42.5, None])]
    assert drawn.columns == ["count", "p50", "p90"]
    assert [(r["count"], r["p50"], r["gap"]) for r in drawn.table] == [
        (None, None, True),
        (3, 42.5, False),
        (None, None, True),
    ]


def test_an_ungrouped_count_with_no_rows_is_a_line_of_zeros() -> None:
    drawn = trendgrid.grid(DAY, [], kind="count", name="Volume")
    assert drawn.series == [charts.Series("Volume", [0.0, 0.0, 0.0])]
    assert [(r["value"], r["gap"]) for r in drawn.table] == [(0, False)] * 3


def test_the_chart_draws_the_largest_groups_and_the_table_lists_every_one() -> None:
    rows = [
        {"bucket": _at(0), "queue": q, "value": v}
        for q, v in (("a", 1), ("b", 5), ("c", 3), ("d", 2))
    ]
    drawn = trendgrid.grid(DAY, rows, kind="count", group="queue", top=2)
    assert [s.name for s in drawn.series] == ["b", "c"]
    assert len(drawn.table) == 12
    assert sum(r["value"] for r in drawn.table) == 11


def test_the_line_drawn_for_a_gap_lifts_the_pen() -> None:
    svg = charts.trend(DAY, [charts.Series("DE", [0.25, None, 0.5])], label="overturn rate")
    path = str(svg).split('<path d="', 1)[1].split('"', 1)[0]
    assert path.count("M") == 2
    assert "L" not in path


def test_the_table_may_list_only_the_drawn_groups() -> None:
    rows = [
        {"bucket": _at(0), "region": region, "value": weight}
        for region, weight in (("DE", 9), ("FR", 5), ("IT", 1))
    ]
    drawn = trendgrid.grid(DAY[:1], rows, kind="count", group="region", top=2)
    assert [s.name for s in drawn.series] == ["DE", "FR"]
    listed = trendgrid.grid(
        DAY[:1], rows, kind="count", group="region", top=2, listed_groups=["FR", "DE", "XX"]
    )
    assert [(r["region"], r["value"]) for r in listed.table] == [("DE", 9), ("FR", 5)]
    assert len(drawn.table) == 3  # every group by default


def test_a_tables_row_says_no_sample_or_gives_each_value() -> None:
    macros = Console().templates.get_template("macros.html").module
    columns = ["value", "denominator"]
    gap = {"bucket": DAY[0], "gap": True, "region": "DE", "value": None, "denominator": None}
    shown = str(macros.bucket_row(gap, "region", columns, 3))  # type: ignore[attr-defined]
    assert 'data-gap="no sample"' in shown
    assert '<td class="gap" data-field="value" data-value="" colspan="2">no sample</td>' in shown
    row = {"bucket": DAY[1], "gap": False, "region": "FR", "value": 0.25, "denominator": 4}
    shown = str(macros.bucket_row(row, "region", columns, 3))  # type: ignore[attr-defined]
    assert "<td>FR</td>" in shown
    assert 'data-field="value" data-value="0.25"' in shown
    assert 'data-field="denominator" data-value="4"' in shown
    assert "no sample" not in shown
