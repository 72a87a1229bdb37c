"""Breaches (lists, one breach, acknowledge, silence) and alert rules (list, create and edit
with a live preview, version history)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from pp_gateway.console.formats import RULE_METRICS
from pp_gateway.console.web import (
    SECURITY_HEADERS,
    PageDep,
    Refused,
    check_csrf,
    form_of,
    one,
    quoted,
    redirect,
)

router = APIRouter()
STATES = ("firing", "pending", "resolved")
RULE_GROUPS = ("area", "clause_id", "region", "language", "product_feature", "queue")
OPS = (">", ">=", "<", "<=")
SEVERITIES = ("low", "medium", "high", "critical")
SILENCES = ("1h", "6h", "1d", "7d")


@router.get("/breaches")
async def breaches(page: PageDep, state: str = "firing") -> Response:
    """Breaches in one state, newest first."""
    state = state if state in STATES else "firing"
    params = {"state": state, "limit": 200}
    found = await page.get("/v1/breaches", params)
    return page.render(
        "breaches.html",
        state=state,
        states=STATES,
        breaches=found["breaches"],
        csv=f"/csv/v1/breaches?state={state}&limit=200",
    )


@router.get("/breaches/{breach_id}")
async def breach(page: PageDep, breach_id: int) -> Response:
    """A breach: its evidence, timeline and deliveries; acknowledge and silence."""
    found = await page.get(f"/v1/breaches/{breach_id}")
    return page.render(
        "breach.html", breach=found, silences=SILENCES, notice=page.request.query_params.get("done")
    )


async def _act(page: PageDep, path: str, body: dict[str, Any], method: str = "POST") -> None:
    answer = await page.api(method, path, body=orjson.dumps(body) if method == "POST" else b"")
    if not answer.ok:
        raise Refused(answer.status, answer.detail)


@router.post("/breaches/{breach_id}/ack")
async def acknowledge(page: PageDep, request: Request, breach_id: int) -> Response:
    """Acknowledge a breach, with an optional note."""
    form = await form_of(request)
    check_csrf(request, page.session, form)
    note = one(form, "note")
    await _act(page, f"/v1/breaches/{breach_id}/ack", {"note": note} if note else {})
    return redirect(f"/breaches/{breach_id}?done=acknowledged")


@router.post("/breaches/{breach_id}/silence")
async def silence(page: PageDep, request: Request, breach_id: int) -> Response:
    """Silence a breach's notifications for a while, with a reason."""
    form = await form_of(request)
    check_csrf(request, page.session, form)
    body = {"for": one(form, "for", "6h"), "reason": one(form, "reason")}
    await _act(page, f"/v1/breaches/{breach_id}/silence", body)
    return redirect(f"/breaches/{breach_id}?done=silenced")


@router.post("/breaches/{breach_id}/unsilence")
async def unsilence(page: PageDep, request: Request, breach_id: int) -> Response:
    """Lift a breach's silence."""
    check_csrf(request, page.session, await form_of(request))
    await _act(page, f"/v1/breaches/{breach_id}/silence", {}, method="DELETE")
    return redirect(f"/breaches/{breach_id}?done=unsilenced")


@router.get("/rules")
async def rules(page: PageDep) -> Response:
    """Every rule the key may see, with its last evaluation."""
    found = await page.get("/v1/rules")
    return page.render("rules.html", rules=found["rules"])


def _choices() -> dict[str, Any]:
    return {"metrics": RULE_METRICS, "groups": RULE_GROUPS, "ops": OPS, "severities": SEVERITIES}


@router.get("/rules/new")
async def new_rule(page: PageDep) -> Response:
    """A form for a new rule, with a live preview."""
    areas = page.session.areas
    spec: dict[str, Any] = {
        "scope": {"area": areas[:1]} if areas else {},
        "window": "24h",
        "condition": {"kind": "threshold", "op": ">"},
        "min_sample": 30,
        "severity": "medium",
        "metric": "volume",
        "group_by": [],
    }
    return page.render("rule_form.html", spec=spec, editing=False, **_choices())


@router.get("/rules/{rule_id}")
async def rule(page: PageDep, rule_id: str) -> Response:
    """A rule, its version history, and a form to change it."""
    found, versions = await page.gather(
        page.get(f"/v1/rules/{quoted(rule_id)}"),
        page.get(f"/v1/rules/{quoted(rule_id)}/versions"),
    )
    return page.render(
        "rule.html",
        rule=found,
        spec=found["spec"],
        versions=versions["versions"],
        editing=True,
        **_choices(),
    )


def spec_of(form: dict[str, list[str]], *, channels: list[Any] | None = None) -> dict[str, Any]:
    """The rule a form describes, in the API's shape (the API validates it)."""
    scope: dict[str, list[str]] = {}
    if area := one(form, "area"):
        scope["area"] = [area]
    clauses = [c.strip() for c in one(form, "clause_id").split(",") if c.strip()]
    if clauses:
        scope["clause_id"] = clauses
    kind = one(form, "kind", "threshold")
    condition: dict[str, Any] = {"kind": kind, "op": one(form, "op", ">")}
    if kind == "statistical":
        condition["confidence"] = _number(one(form, "confidence", "0.99"))
        condition["baseline"] = one(form, "baseline", "7d")
    else:
        condition["threshold"] = _number(one(form, "threshold", "0"))
    return {
        "id": one(form, "id"),
        "name": one(form, "name"),
        "description": one(form, "description"),
        "metric": one(form, "metric", "volume"),
        "scope": scope,
        "group_by": [g for g in form.get("group_by", []) if g in RULE_GROUPS],
        "window": one(form, "window", "24h"),
        "condition": condition,
        "min_sample": int(_number(one(form, "min_sample", "30"))),
        "severity": one(form, "severity", "medium"),
        "enabled": one(form, "enabled", "on") == "on",
        "channels": channels or [],
    }


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise Refused(422, f"not a number: {text[:40]!r}") from None


@router.post("/rules/preview")
async def preview(page: PageDep, request: Request) -> Response:
    """What the rule in the form would say now (the API's preview), as a table."""
    form = await form_of(request)
    check_csrf(request, page.session, form)
    spec = spec_of(form)
    spec["id"] = spec["id"] or "preview"
    spec["name"] = spec["name"] or "preview"
    answer = await page.api("POST", "/v1/rules/preview", body=orjson.dumps(spec))
    body = page.console.templates.get_template("rule_preview.html").render(
        preview=answer.json() if answer.ok else None,
        error=None if answer.ok else answer.detail,
    )
    return HTMLResponse(body, headers=SECURITY_HEADERS)


@router.post("/rules")
async def create_rule(page: PageDep, request: Request) -> Response:
    """Create the rule in the form."""
    form = await form_of(request)
    check_csrf(request, page.session, form)
    spec = spec_of(form)
    answer = await page.api("POST", "/v1/rules", body=orjson.dumps(spec))
    if not answer.ok:
        return page.render(
            "rule_form.html",
            spec=spec,
            editing=False,
            error=answer.detail,
            status=answer.status,
            **_choices(),
        )
    return redirect(f"/rules/{quoted(spec['id'])}")


@router.post("/rules/{rule_id}")
async def update_rule(page: PageDep, request: Request, rule_id: str) -> Response:
    """Replace a rule with the form's version (its channels stay as they were)."""
    form = await form_of(request)
    check_csrf(request, page.session, form)
    current = await page.get(f"/v1/rules/{quoted(rule_id)}")
    spec = spec_of(form, channels=current["spec"].get("channels"))
    spec["id"] = rule_id
    answer = await page.api("PUT", f"/v1/rules/{quoted(rule_id)}", body=orjson.dumps(spec))
    if not answer.ok:
        versions = await page.get(f"/v1/rules/{quoted(rule_id)}/versions")
        return page.render(
            "rule.html",
            rule=current,
            spec=spec,
            versions=versions["versions"],
            editing=True,
            error=answer.detail,
            status=answer.status,
            **_choices(),
        )
    return redirect(f"/rules/{quoted(rule_id)}")
