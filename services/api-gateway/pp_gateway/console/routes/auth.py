"""Sign-in with an API key, sign-out, and the console's front door."""

from __future__ import annotations

import logging
import secrets
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from pp_gateway.console import upstream
from pp_gateway.console.sessions import COOKIE, CSRF_FIELD, PRE_SESSION_COOKIE
from pp_gateway.console.web import (
    ConsoleDep,
    SessionDep,
    check_csrf,
    form_of,
    one,
    redirect,
    render,
    visible_areas,
)
from pp_shared.identity import Identity

router = APIRouter()
log = logging.getLogger(__name__)


def _safe_next(target: str | None) -> str:
    """Only a path of this console: never another origin (``//host``, ``/\\host``)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


@router.get("/")
async def home(session: SessionDep) -> Response:
    """The overview of the key's first area."""
    return redirect(f"/areas/{visible_areas(session)[0]}")


@router.get("/sign-in")
async def sign_in_form(
    request: Request,
    console: ConsoleDep,
    next_path: Annotated[str | None, Query(alias="next")] = None,
    ended: bool = False,
) -> Response:
    """The sign-in form."""
    message = (
        "Your session has ended (signed out elsewhere, or the key was revoked)." if ended else None
    )
    return _form(request, console, next_path, message=message, status=200)


def _form(
    request: Request,
    console: ConsoleDep,
    next_path: str | None,
    *,
    message: str | None,
    status: int,
) -> Response:
    token = secrets.token_urlsafe(32)
    response = render(
        request,
        console,
        "sign_in.html",
        session=None,
        status=status,
        csrf=token,
        next_path=_safe_next(next_path),
        message=message,
    )
    response.set_cookie(
        PRE_SESSION_COOKIE,
        token,
        max_age=3600,
        path="/sign-in",
        httponly=True,
        samesite="strict",
        secure=console.secure(request),
    )
    return response


@router.post("/sign-in")
async def sign_in(request: Request, console: ConsoleDep) -> Response:
    """Check the key through the API (``/v1/whoami``), then start a session."""
    form = await form_of(request)
    next_path = _safe_next(one(form, "next"))
    expected = request.cookies.get(PRE_SESSION_COOKIE)
    given = one(form, CSRF_FIELD)
    if not expected or not secrets.compare_digest(expected.encode(), given.encode()):
        return _form(
            request,
            console,
            next_path,
            status=403,
            message="The form expired or did not come from this page; try again.",
        )
    key = one(form, "key")
    if not key.isascii() or not key.isprintable():
        return _form(request, console, next_path, status=401, message="That is not a valid key.")
    answer = await upstream.call(request.app, "GET", "/v1/whoami", key=key)
    if answer.status == 401:
        return _form(request, console, next_path, status=401, message="That is not a valid key.")
    if not answer.ok:
        return _form(
            request,
            console,
            next_path,
            status=answer.status,
            message=f"This key cannot use the console: {answer.detail}",
        )
    who = answer.json()
    areas = frozenset(who["areas"]) if who["areas"] is not None else None
    identity = Identity(who["actor"], who["role"], who["key_prefix"], areas)
    token, _session = console.sessions.start(key, identity)
    log.info("console sign-in", extra={"key_prefix": identity.key_prefix, "role": identity.role})
    response = redirect(next_path)
    response.set_cookie(
        COOKIE, token, path="/", httponly=True, samesite="strict", secure=console.secure(request)
    )
    response.delete_cookie(PRE_SESSION_COOKIE, path="/sign-in")
    return response


@router.post("/sign-out")
async def sign_out(request: Request, console: ConsoleDep, session: SessionDep) -> Response:
    """End this session."""
    check_csrf(request, session, await form_of(request))
    console.sessions.end(request.cookies.get(COOKIE))
    response = redirect("/sign-in")
    response.delete_cookie(COOKIE, path="/")
    return response
