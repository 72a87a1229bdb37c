"""What every API command shares: ``--url`` and ``--key`` (and their environment variables),
errors shown as readable problem details, and output as rich tables, CSV or JSON."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from pp_shared.api_cli.client import DEFAULT_URL, Api, ApiError, describe

F = TypeVar("F", bound=Callable[..., Any])

EXIT_API_ERROR = 1
EXIT_USAGE = 2


def out() -> Console:
    return Console(soft_wrap=True)


def err() -> Console:
    return Console(stderr=True, soft_wrap=True)


def with_api(func: Callable[..., Any]) -> Callable[..., Any]:
    """Adds ``--url`` and ``--key`` and hands the command an :class:`Api`; an API error is
    shown on stderr as problem details and exits 1."""

    @click.option(
        "--key",
        envvar="PP_API_KEY",
        default=None,
        show_envvar=True,
        help="API key, sent as 'Authorization: Bearer <key>' (never printed).",
    )
    @click.option(
        "--url",
        envvar="PP_API_URL",
        default=DEFAULT_URL,
        show_default=True,
        show_envvar=True,
        help="Base URL of the public API (the gateway).",
    )
    @functools.wraps(func)
    def wrapper(url: str, key: str | None, **kwargs: Any) -> Any:
        with Api(url, key) as api:
            try:
                return func(api, **kwargs)
            except ApiError as exc:
                err().print(describe(exc), markup=False, highlight=False)
                sys.exit(EXIT_API_ERROR)

    return wrapper


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Rows as a table on stdout."""
    grid = Table(title=title, show_lines=False)
    for column in columns:
        grid.add_column(column, overflow="fold")
    count = 0
    for row in rows:
        grid.add_row(*(cell(v) for v in row))
        count += 1
    console = out()
    if count:
        console.print(grid)
    else:
        console.print(f"{title or 'nothing'}: none", markup=False)


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def print_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


def pairs(values: Sequence[str], option: str) -> list[tuple[str, str]]:
    """``name=value`` options as pairs, or a usage error naming the option."""
    found: list[tuple[str, str]] = []
    for value in values:
        name, sep, rest = value.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{value!r} is not NAME=VALUE", param_hint=option)
        found.append((name.strip(), rest))
    return found


def read_document(path: Path) -> Any:
    """A JSON or YAML file's content (YAML by its suffix), or a usage error saying why not."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.BadParameter(f"cannot read {path}: {exc}") from exc
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise click.BadParameter(f"{path} is not valid YAML: {exc}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"{path} is not valid JSON: {exc}") from exc


json_option = click.option("--json", "as_json", is_flag=True, help="Write the API's JSON.")
