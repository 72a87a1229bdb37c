"""``policypulse dead-letters list|replay`` and ``policypulse models list|retrain``."""

from __future__ import annotations

import sys
import time
from typing import Any

import click

from pp_shared.api_cli.client import Api
from pp_shared.api_cli.common import (
    EXIT_API_ERROR,
    err,
    json_option,
    out,
    print_json,
    table,
    with_api,
)

DEAD_LETTERS = {
    "ingest": "/v1/dead-letters",
    "classifier": "/v1/classifier/dead-letters",
    "insights": "/v1/insights/dead-letters",
}
service_option = click.option(
    "--service",
    type=click.Choice(list(DEAD_LETTERS)),
    default="ingest",
    show_default=True,
    help="Whose dead letters.",
)


@click.group("dead-letters")
def dead_letters() -> None:
    """Dead letters: records a service could not process, kept to inspect and replay."""


@dead_letters.command("list")
@service_option
@click.option("--reason", default=None, help="Only this reason.")
@click.option("--replayed/--not-replayed", default=None, help="Replayed at least once, or not.")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@json_option
@with_api
def list_dead_letters(
    api: Api,
    service: str,
    reason: str | None,
    replayed: bool | None,
    limit: int,
    as_json: bool,
) -> None:
    """Dead letters in arrival order (never their content: inspect one through the API)."""
    params: dict[str, Any] = {"limit": limit}
    if reason:
        params["reason"] = reason
    if replayed is not None:
        params["replayed"] = "true" if replayed else "false"
    page = api.get_json(DEAD_LETTERS[service], params=params)
    if as_json:
        print_json(page)
        return
    table(
        f"{service} dead letters",
        ["id", "reason", "topic", "partition", "offset", "received", "replayed", "errors"],
        (
            (
                d["id"],
                d["reason"],
                d["topic"],
                d["partition"],
                d["offset"],
                d["received_at"],
                d["replayed_at"],
                len(d["errors"]),
            )
            for d in page["items"]
        ),
    )
    if page.get("next_cursor"):
        out().print("more: list again with the API's cursor", markup=False)


@dead_letters.command("replay")
@click.argument("ids", nargs=-1, type=int, required=True)
@service_option
@with_api
def replay(api: Api, ids: tuple[int, ...], service: str) -> None:
    """Write dead letters (by id) back to the topic they came from."""
    answer = api.request("POST", f"{DEAD_LETTERS[service]}:replay", json={"ids": list(ids)}).json()
    table("replay", ["id", "status"], ((i["id"], i["status"]) for i in answer["items"]))
    out().print(
        f"{answer['replayed']} replayed, {answer['not_found']} not found",
        markup=False,
        highlight=False,
    )
    if answer["not_found"]:
        sys.exit(EXIT_API_ERROR)


@click.group()
def models() -> None:
    """Clause models of the classifier."""


@models.command("list")
@json_option
@with_api
def list_models(api: Api, as_json: bool) -> None:
    """Every trained model, newest first, with its held-out macro-F1."""
    found = api.get_json("/v1/models")
    if as_json:
        print_json(found)
        return
    table(
        "models",
        ["version", "status", "taxonomy", "trained", "decision labels", "macro-F1", "reason"],
        (
            (
                m["version"],
                m["status"],
                m["taxonomy_version"],
                m["trained_at"],
                m["decision_labels"],
                _macro_f1(m["evaluation"]),
                m["reason"],
            )
            for m in found
        ),
    )


def _macro_f1(evaluation: dict[str, Any]) -> str:
    value = (evaluation.get("clauses") or {}).get("macro_f1")
    return f"{value:.4f}" if isinstance(value, int | float) else ""


@models.command("retrain")
@click.option("--wait/--no-wait", default=True, show_default=True, help="Wait for the outcome.")
@click.option("--timeout", type=float, default=1800, show_default=True, help="Longest wait (s).")
@with_api
def retrain(api: Api, wait: bool, timeout: float) -> None:
    """Start a training (or join the one running) and, by default, wait for its outcome."""
    job: dict[str, Any] = api.request("POST", "/v1/models/retrain").json()
    out().print(f"retraining job {job['id']}: {job['state']}", markup=False, highlight=False)
    if not wait:
        return
    deadline = time.monotonic() + timeout
    with err().status("training"):
        while job["state"] == "running":
            if time.monotonic() > deadline:
                err().print(f"still running after {timeout:.0f} s: {job['href']}", markup=False)
                sys.exit(EXIT_API_ERROR)
            time.sleep(1.0)  # a person's terminal polling a job, not a test
            job = api.get_json(job["href"])
    if job["state"] == "done":
        out().print(
            f"{job['outcome']}: {job['model_version']} ({job['reason']})",
            markup=False,
            highlight=False,
        )
        return
    err().print(f"{job['state']}: {job.get('error') or ''}", markup=False, highlight=False)
    sys.exit(EXIT_API_ERROR)
