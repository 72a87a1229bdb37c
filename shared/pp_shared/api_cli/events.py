"""``policypulse events send FILE``: every event of a file through ``POST /v1/events:batch``,
in batches, with a progress bar and a report of every row that was not taken."""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from pp_shared.api_cli.client import Api, error_of, field_error
from pp_shared.api_cli.common import EXIT_API_ERROR, EXIT_USAGE, err, out, table, with_api
from pp_shared.api_cli.rows import FileError, Format, Row, format_of, read_rows

BATCH = "/v1/events:batch"
MAX_BATCH = 10_000
MAX_SHOWN_ROWS = 50


@click.group()
def events() -> None:
    """Send events to the API."""


@events.command("send")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "ndjson", "csv"]),
    default=None,
    help="The file's format (default: by its suffix, .json .ndjson .jsonl .csv).",
)
@click.option(
    "--batch-size",
    type=click.IntRange(1, MAX_BATCH),
    default=1000,
    show_default=True,
    help="Events per request.",
)
@click.option(
    "--report",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Also write every row not taken as JSON lines to this file.",
)
@click.option(
    "--retries",
    type=click.IntRange(0, 10),
    default=3,
    show_default=True,
    help="Times a batch is sent again when the API answers 503 (safe: events are stored once).",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@with_api
def send(
    api: Api,
    file: Path,
    fmt: Format | None,
    batch_size: int,
    report: Path | None,
    retries: int,
    quiet: bool,
) -> None:
    """Send every event of FILE (JSON array, NDJSON or CSV) in batches.

    Exits 0 when every row was accepted or was a duplicate, 1 when any row was rejected
    (each is listed with its row number and errors), 2 when the file cannot be read.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    try:
        rows = read_rows(file, format_of(file, fmt))
    except FileError as exc:
        err().print(f"error: {exc}", markup=False)
        sys.exit(EXIT_USAGE)
    tally: Counter[str] = Counter()
    failed: list[dict[str, Any]] = []
    for row in rows:
        if row.body is None:
            failed.append(_unread(row))
            tally["rejected"] += 1
    sendable = [r for r in rows if r.body is not None]
    progress = Progress(
        TextColumn("sending"),
        BarColumn(),
        MofNCompleteColumn(),
        console=err(),
        disable=quiet,
        transient=False,
    )
    with progress:
        task = progress.add_task("events", total=len(sendable))
        for start in range(0, len(sendable), batch_size):
            chunk = sendable[start : start + batch_size]
            answer = _send_batch(api, chunk, retries)
            for item in answer["items"]:
                row = chunk[item["index"]]
                tally[item["status"]] += 1
                if item["status"] == "rejected":
                    failed.append(_rejected(row, item))
            progress.advance(task, len(chunk))
    _summarise(file, len(rows), tally, failed, report)
    if failed:
        sys.exit(EXIT_API_ERROR)


def _send_batch(api: Api, chunk: Sequence[Row], retries: int) -> dict[str, Any]:
    body = b"\n".join(r.body for r in chunk if r.body is not None)
    for attempt in range(retries + 1):
        response = api.request(
            "POST",
            BATCH,
            content=body,
            headers={"content-type": "application/x-ndjson"},
            ok=(503,),
        )
        if response.status_code != 503:
            answer: dict[str, Any] = response.json()
            return answer
        if attempt < retries:
            # The API says when to come back; the whole batch goes again, stored once.
            time.sleep(min(float(response.headers.get("retry-after", "5")), 30.0))
    raise error_of(response)


def _unread(row: Row) -> dict[str, Any]:
    return {"row": row.number, "reason": "unreadable", "errors": [{"detail": row.problem}]}


def _rejected(row: Row, item: dict[str, Any]) -> dict[str, Any]:
    return {
        "row": row.number,
        "event_id": item.get("event_id", row.event_id),
        "reason": item.get("reason"),
        "errors": item.get("errors", []),
    }


def _summarise(
    file: Path,
    rows: int,
    tally: Counter[str],
    failed: list[dict[str, Any]],
    report: Path | None,
) -> None:
    console = out()
    console.print(
        f"{file.name}: {rows} rows, {tally['accepted']} accepted, "
        f"{tally['duplicate']} duplicate, {tally['rejected']} rejected",
        markup=False,
        highlight=False,
    )
    if failed:
        shown = sorted(failed, key=lambda f: f["row"])
        table(
            "rows not taken",
            ["row", "event_id", "reason", "errors"],
            (
                (
                    f["row"],
                    f.get("event_id"),
                    f["reason"],
                    "\n".join(field_error(e) for e in f["errors"]) or "(not listed)",
                )
                for f in shown[:MAX_SHOWN_ROWS]
            ),
        )
        if len(shown) > MAX_SHOWN_ROWS:
            console.print(f"... and {len(shown) - MAX_SHOWN_ROWS} more rows", markup=False)
    if report is not None:
        with report.open("w", encoding="utf-8") as fh:
            for f in sorted(failed, key=lambda f: f["row"]):
                fh.write(json.dumps(f, ensure_ascii=False) + "\n")
        console.print(f"report: {report} ({len(failed)} rows)", markup=False, highlight=False)
