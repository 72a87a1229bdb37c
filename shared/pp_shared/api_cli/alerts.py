"""``policypulse rules list|apply|preview`` and ``policypulse breaches list|ack|silence``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from pp_shared.api_cli.client import Api
from pp_shared.api_cli.common import (
    cell,
    json_option,
    out,
    print_json,
    read_document,
    table,
    with_api,
)

RULE_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def _specs(path: Path) -> list[dict[str, Any]]:
    """The rule specs of a JSON or YAML file: one rule, a list, or ``{"rules": [...]}``."""
    doc = read_document(path)
    if isinstance(doc, dict) and isinstance(doc.get("rules"), list):
        doc = doc["rules"]
    specs = doc if isinstance(doc, list) else [doc]
    for index, spec in enumerate(specs):
        if not isinstance(spec, dict) or not isinstance(spec.get("id"), str):
            raise click.BadParameter(f"rule {index + 1} of {path} has no id", param_hint="FILE")
    return specs


@click.group()
def rules() -> None:
    """Alert rules."""


@rules.command("list")
@json_option
@with_api
def list_rules(api: Api, as_json: bool) -> None:
    """Every rule, its version and its last evaluation."""
    answer = api.get_json("/v1/rules")
    if as_json:
        print_json(answer)
        return
    table(
        "rules",
        ["id", "version", "enabled", "metric", "window", "severity", "last evaluated", "outcomes"],
        (
            (
                r["id"],
                r["version"],
                r["enabled"],
                r["spec"].get("metric"),
                r["spec"].get("window"),
                r["spec"].get("severity"),
                (r.get("last_evaluation") or {}).get("evaluated_at"),
                (r.get("last_evaluation") or {}).get("outcomes"),
            )
            for r in answer["rules"]
        ),
    )


@rules.command("apply")
@click.argument("file", type=RULE_FILE)
@with_api
def apply(api: Api, file: Path) -> None:
    """Create or replace the rules of FILE (JSON or YAML; one rule or a list), by id. Each
    change is recorded as made by the owner of the API key."""
    results = []
    for spec in _specs(file):
        path = f"/v1/rules/{spec['id']}"
        exists = api.request("GET", path, ok=(404,)).status_code != 404
        if exists:
            view = api.request("PUT", path, json=spec).json()
        else:
            view = api.request("POST", "/v1/rules", json=spec).json()
        results.append((view["id"], "replaced" if exists else "created", view["version"]))
    table("rules applied", ["id", "change", "version"], results)


@rules.command("preview")
@click.argument("file", type=RULE_FILE)
@json_option
@with_api
def preview(api: Api, file: Path, as_json: bool) -> None:
    """Evaluate the rules of FILE now without saving them: every group, breaching or not."""
    for spec in _specs(file):
        answer = api.request("POST", "/v1/rules/preview", json=spec).json()
        if as_json:
            print_json(answer)
            continue
        table(
            f"preview of {answer['rule_id']} at {answer['evaluated_at']}",
            ["group", "breaching", "reason", "evidence"],
            (
                (g["group"] or "(all)", g["breaching"], g["reason"], g["evidence"])
                for g in answer["groups"]
            ),
        )


@click.group()
def breaches() -> None:
    """Breaches of alert rules."""


@breaches.command("list")
@click.option(
    "--state", multiple=True, help="Only breaches in this state (open, firing, ...); repeatable."
)
@click.option("--rule-id", default=None, help="Only breaches of this rule.")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@json_option
@with_api
def list_breaches(
    api: Api, state: tuple[str, ...], rule_id: str | None, limit: int, as_json: bool
) -> None:
    """Breaches, newest first."""
    params: list[tuple[str, str | int]] = [("state", s) for s in state]
    if rule_id:
        params.append(("rule_id", rule_id))
    params.append(("limit", limit))
    answer = api.get_json("/v1/breaches", params=params)
    if as_json:
        print_json(answer)
        return
    _breach_table(answer["breaches"])
    if answer.get("next_before") is not None:
        out().print(f"more: the API's before={answer['next_before']}", markup=False)


def _breach_table(found: list[dict[str, Any]]) -> None:
    table(
        "breaches",
        ["id", "rule", "state", "severity", "scope", "opened", "acknowledged", "silenced until"],
        (
            (
                b["id"],
                b["rule_id"],
                b["state"],
                b["severity"],
                b["scope"],
                b["opened_at"],
                b.get("acknowledged_by"),
                b.get("silenced_until"),
            )
            for b in found
        ),
    )


def _shown(detail: dict[str, Any], what: str) -> None:
    breach = detail.get("breach", detail)
    out().print(
        f"breach {cell(breach.get('id'))} {what}: state {cell(breach.get('state'))}",
        markup=False,
        highlight=False,
    )


@breaches.command("ack")
@click.argument("breach_id", type=int)
@click.option("--note", default=None, help="A note kept on the timeline.")
@with_api
def ack(api: Api, breach_id: int, note: str | None) -> None:
    """Acknowledge an open breach."""
    body = {"note": note} if note else None
    detail = api.request("POST", f"/v1/breaches/{breach_id}/ack", json=body).json()
    _shown(detail, "acknowledged")


@breaches.command("silence")
@click.argument("breach_id", type=int)
@click.option("--for", "for_", default=None, help="How long, e.g. 30m, 6h, 2d.")
@click.option("--until", default=None, help="Until when (RFC 3339).")
@click.option("--reason", default=None, help="Why (required unless --lift).")
@click.option("--lift", is_flag=True, help="Lift the silence instead.")
@with_api
def silence(
    api: Api,
    breach_id: int,
    for_: str | None,
    until: str | None,
    reason: str | None,
    lift: bool,
) -> None:
    """Silence a breach's notifications for a while (or until a time), with a reason."""
    path = f"/v1/breaches/{breach_id}/silence"
    if lift:
        detail = api.request("DELETE", path).json()
        _shown(detail, "silence lifted")
        return
    if reason is None:
        raise click.UsageError("--reason is required to silence a breach")
    body: dict[str, str] = {"reason": reason}
    if for_ is not None:
        body["for"] = for_
    if until is not None:
        body["until"] = until
    detail = api.request("POST", path, json=body).json()
    _shown(detail, "silenced")
