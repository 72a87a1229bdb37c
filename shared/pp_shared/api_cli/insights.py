"""``policypulse insights trends|card|movers|drilldown``: the query API as tables, or as the
API's own CSV with ``--csv`` (for a spreadsheet) or JSON with ``--json``."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import click

from pp_shared.api_cli.client import Api
from pp_shared.api_cli.common import pairs, print_json, table, with_api

Params = list[tuple[str, str]]


def _output(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--csv``, ``--json``, ``--filter DIM=VALUE`` and ``--param NAME=VALUE``."""
    for option in (
        click.option("--csv", "as_csv", is_flag=True, help="Write the API's CSV to stdout."),
        click.option("--json", "as_json", is_flag=True, help="Write the API's JSON to stdout."),
        click.option(
            "--filter",
            "filters",
            multiple=True,
            metavar="DIM=VALUE",
            help="Keep only this value of a dimension (area, clause_id, region, language, "
            "product_feature, queue, escalation_reason); repeatable.",
        ),
        click.option(
            "--param",
            "extra",
            multiple=True,
            metavar="NAME=VALUE",
            help="Any other query parameter of the endpoint; repeatable.",
        ),
    ):
        func = option(func)
    return func


def _range(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option("--to", "end", required=True, help="End (RFC 3339, exclusive).")(func)
    return click.option("--from", "start", required=True, help="Start (RFC 3339).")(func)


def _show(
    api: Api,
    path: str,
    title: str,
    params: Params,
    *,
    filters: tuple[str, ...],
    extra: tuple[str, ...],
    as_csv: bool,
    as_json: bool,
) -> None:
    if as_csv and as_json:
        raise click.UsageError("choose one of --csv and --json")
    query = [*params, *pairs(filters, "--filter"), *pairs(extra, "--param")]
    if as_json:
        print_json(api.get_json(path, params=query))
        return
    response = api.request("GET", path, params=query, headers={"accept": "text/csv"})
    if as_csv:
        click.echo(response.text, nl=False)
        return
    reader = csv.reader(io.StringIO(response.text, newline=""))
    header = next(reader, [])
    table(title, header, reader)


def _opt(name: str, value: Any) -> Params:
    if value is None:
        return []
    if isinstance(value, tuple | list):
        return [(name, str(v)) for v in value]
    return [(name, str(value))]


@click.group()
def insights() -> None:
    """Query the insights API."""


@insights.command("trends")
@click.option("--metric", required=True, help="A metric (GET /v1/insights/metrics lists them).")
@click.option("--interval", default=None, help="hour, day, week or month (default day).")
@click.option("--group-by", multiple=True, help="A dimension to group by; repeatable.")
@click.option("--from", "start", default=None, help="Start (RFC 3339).")
@click.option("--to", "end", default=None, help="End (RFC 3339, exclusive).")
@_output
@with_api
def trends(
    api: Api,
    metric: str,
    interval: str | None,
    group_by: tuple[str, ...],
    start: str | None,
    end: str | None,
    **output: Any,
) -> None:
    """A metric per time bucket and group, with samples and 95% intervals."""
    params = [
        ("metric", metric),
        *_opt("interval", interval),
        *_opt("group_by", group_by),
        *_opt("from", start),
        *_opt("to", end),
    ]
    _show(api, "/v1/insights/trends", f"{metric} trend", params, **output)


@insights.command("card")
@click.option("--clause-id", multiple=True, help="The clause of the card; repeatable.")
@click.option("--area", multiple=True, help="The area of the card; repeatable.")
@_range
@_output
@with_api
def card(
    api: Api,
    clause_id: tuple[str, ...],
    area: tuple[str, ...],
    start: str,
    end: str,
    **output: Any,
) -> None:
    """The performance card of a clause or area, beside the period before."""
    params = [*_opt("clause_id", clause_id), *_opt("area", area), ("from", start), ("to", end)]
    title = "card " + ", ".join([*clause_id, *area])
    _show(api, "/v1/insights/cards", title, params, **output)


@insights.command("movers")
@click.option("--metric", required=True, help="A count or rate metric.")
@click.option("--dimension", required=True, help="The dimension whose values are compared.")
@_range
@click.option("--min-sample", type=int, default=None, help="Smallest sample in both periods.")
@click.option("--limit", type=int, default=None, help="Values listed.")
@click.option("--direction", default=None, help="up, down or any.")
@_output
@with_api
def movers(
    api: Api,
    metric: str,
    dimension: str,
    start: str,
    end: str,
    min_sample: int | None,
    limit: int | None,
    direction: str | None,
    **output: Any,
) -> None:
    """The values of a dimension whose metric changed most versus the period before."""
    params = [
        ("metric", metric),
        ("dimension", dimension),
        ("from", start),
        ("to", end),
        *_opt("min_sample", min_sample),
        *_opt("limit", limit),
        *_opt("direction", direction),
    ]
    _show(api, "/v1/insights/movers", f"{metric} movers by {dimension}", params, **output)


@insights.command("drilldown")
@click.option("--metric", required=True, help="A count or rate metric.")
@_range
@click.option("--dimension", multiple=True, help="A dimension to break down by; repeatable.")
@click.option("--limit", type=int, default=None, help="Values listed per dimension.")
@click.option("--examples", type=int, default=None, help="Example escalations per value.")
@_output
@with_api
def drilldown(
    api: Api,
    metric: str,
    start: str,
    end: str,
    dimension: tuple[str, ...],
    limit: int | None,
    examples: int | None,
    **output: Any,
) -> None:
    """Which dimension values explain a metric's change versus the period before."""
    params = [
        ("metric", metric),
        ("from", start),
        ("to", end),
        *_opt("dimension", dimension),
        *_opt("limit", limit),
        *_opt("examples", examples),
    ]
    _show(api, "/v1/insights/drilldown", f"{metric} drill-down", params, **output)
