"""What every console page shares: the templates, the signed-in session, the in-process API
calls made with its key, CSRF checks, and how a refusal of the API becomes a page."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl, quote

from fastapi import Depends, Request
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import HTMLResponse, RedirectResponse, Response

from pp_gateway.access import GRANTS, Permission, Role
from pp_gateway.console import charts, formats, upstream
from pp_gateway.console.sessions import COOKIE, CSRF_FIELD, CSRF_HEADER, Session, SessionStore

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
AREAS = ("HATE", "VBDA", "HEX", "INA")
PERIODS = {"1d": timedelta(days=1), "7d": timedelta(days=7), "28d": timedelta(days=28)}
SECURITY_HEADERS = {
    # Everything a page loads comes from the gateway itself: no request leaves for another
    # origin, and nothing inline runs.
    "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
    "x-frame-options": "DENY",
}
FORM_LIMIT = 64 * 1024


class SignInNeeded(Exception):
    """No session, or its key was refused: the browser goes to the sign-in page."""

    def __init__(self, next_path: str, *, ended: bool = False) -> None:
        super().__init__(next_path)
        self.next_path = next_path
        self.ended = ended


class Refused(Exception):
    """The API refused what a page asked for: the page shows why, with the API's status."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class Console:
    """The console's state for the life of the gateway: templates and sessions."""

    def __init__(self, *, secure_cookies: bool = False) -> None:
        self.sessions = SessionStore()
        self.secure_cookies = secure_cookies
        self.templates = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates.filters.update(formats.FILTERS)
        self.templates.globals.update(sparkline=charts.sparkline, AREAS=AREAS)

    def secure(self, request: Request) -> bool:
        return self.secure_cookies or request.url.scheme == "https"


def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


ConsoleDep = Annotated[Console, Depends(console_of)]


def session_of(request: Request) -> Session:
    """The signed-in session, or a redirect to the sign-in page."""
    session = console_of(request).sessions.get(request.cookies.get(COOKIE))
    if session is None:
        raise SignInNeeded(
            request.url.path + (f"?{request.url.query}" if request.url.query else "")
        )
    return session


SessionDep = Annotated[Session, Depends(session_of)]


def may(session: Session, permission: Permission) -> bool:
    return permission in GRANTS.get(Role(session.identity.role), frozenset())


@dataclass
class Page:
    """A page being answered: its request, console and session, and the API calls it makes."""

    request: Request
    console: Console
    session: Session
    started: float = field(default_factory=time.perf_counter)
    calls: list[tuple[str, float]] = field(default_factory=list)

    def timing(self) -> dict[str, str]:
        """The page's server time so far, then each API call's (``call``, its method and path
        as the description, in the order they ended), as a ``Server-Timing`` header (the
        console bench reads it)."""
        entries = [f"page;dur={(time.perf_counter() - self.started) * 1000:.1f}"]
        entries += [f'call;desc="{what}";dur={ms:.1f}' for what, ms in self.calls]
        return {"server-timing": ", ".join(entries)}

    async def api(
        self,
        method: str,
        path: str,
        params: upstream.Params | None = None,
        *,
        body: bytes = b"",
        accept: str = upstream.JSON,
        raw_query: str | None = None,
    ) -> upstream.Answer:
        """``method path`` through the gateway's own checks with the session's key. A refused
        key ends the session."""
        query = raw_query if raw_query is not None else upstream.query_string(params)
        client = self.request.client
        began = time.perf_counter()
        answer = await upstream.call(
            self.request.app,
            method,
            path,
            key=self.session.key,
            query=query,
            body=body,
            accept=accept,
            client=(client.host, client.port) if client else None,
        )
        self.calls.append((f"{method} {path}", (time.perf_counter() - began) * 1000))
        if answer.status == 401:
            self.console.sessions.end(self.request.cookies.get(COOKIE))
            raise SignInNeeded(self.request.url.path, ended=True)
        return answer

    async def get(self, path: str, params: upstream.Params | None = None) -> Any:
        """The JSON of a GET the page cannot do without; a refusal becomes the page."""
        answer = await self.api("GET", path, params)
        if not answer.ok:
            raise Refused(answer.status, answer.detail)
        return answer.json()

    async def optional(self, path: str, params: upstream.Params | None = None) -> Section:
        """A part of a page that may be refused or empty on its own (the rest still shows)."""
        answer = await self.api("GET", path, params)
        if answer.ok:
            return Section(answer.json(), None)
        return Section(None, answer.detail)

    async def gather(self, *calls: Awaitable[Any]) -> list[Any]:
        return list(await asyncio.gather(*calls))

    def render(self, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
        response = render(
            self.request, self.console, template, session=self.session, status=status, **context
        )
        response.headers.update(self.timing())
        return response

    def check_area(self, area: str) -> None:
        if not self.session.may_see(area):
            shown = ", ".join(self.session.areas or [])
            raise Refused(403, f"this key may see the areas {shown}, not {area}")


@dataclass(frozen=True, slots=True)
class Section:
    data: Any
    error: str | None


async def nothing() -> None:
    """A part of a page's :meth:`Page.gather` that this request does not ask for."""
    return None


def page_of(request: Request, session: SessionDep) -> Page:
    return Page(request, console_of(request), session)


PageDep = Annotated[Page, Depends(page_of)]


def render(
    request: Request,
    console: Console,
    template: str,
    *,
    session: Session | None,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    body = console.templates.get_template(template).render(
        request=request,
        session=session,
        csrf=session.csrf if session else context.pop("csrf", ""),
        may_respond=session is not None and may(session, Permission.RESPOND),
        may_author=session is not None and may(session, Permission.AUTHOR),
        areas=visible_areas(session),
        path=request.url.path,
        **context,
    )
    return HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)


def visible_areas(session: Session | None) -> list[str]:
    if session is None:
        return []
    return session.areas if session.areas is not None else list(AREAS)


def redirect(location: str) -> RedirectResponse:
    return RedirectResponse(location, status_code=303, headers={"cache-control": "no-store"})


async def form_of(request: Request) -> dict[str, list[str]]:
    """An ``application/x-www-form-urlencoded`` body, each name to its values."""
    body = await request.body()
    if len(body) > FORM_LIMIT:
        raise Refused(413, "the form is too large")
    out: dict[str, list[str]] = {}
    for name, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
        out.setdefault(name, []).append(value)
    return out


def one(form: Mapping[str, list[str]], name: str, default: str = "") -> str:
    values = form.get(name)
    return values[0].strip() if values else default


def check_csrf(request: Request, session: Session, form: Mapping[str, list[str]] | None) -> None:
    """A console action must carry the session's CSRF token (a form field, or the header of
    the page's script); without it, 403 and nothing is done."""
    token = request.headers.get(CSRF_HEADER) or (one(form, CSRF_FIELD) if form else None)
    if not session.csrf_ok(token):
        log.warning(
            "console action refused: missing or wrong CSRF token",
            extra={"path": request.url.path, "key_prefix": session.identity.key_prefix},
        )
        raise Refused(
            403,
            "this form has expired or did not come from the console; reload the page and try again",
        )


@dataclass(frozen=True, slots=True)
class Period:
    name: str
    start: datetime
    end: datetime
    interval: str

    @property
    def params(self) -> dict[str, str]:
        return {"from": formats.iso(self.start), "to": formats.iso(self.end)}

    def buckets(self) -> list[datetime]:
        step = timedelta(hours=1) if self.interval == "hour" else timedelta(days=1)
        start = self.start if self.interval == "hour" else self.start.replace(hour=0)
        out = []
        at = start
        while at < self.end:
            out.append(at)
            at += step
        return out


def period_of(name: str | None, *, now: datetime | None = None) -> Period:
    """The last whole hours of a period (1d, 7d or 28d; 1d unless another is named)."""
    key = name if name in PERIODS else "1d"
    end = (now or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0)
    span = PERIODS[key]
    return Period(key, end - span, end, "hour" if span <= timedelta(days=2) else "day")


def area_of(clause_id: str) -> str:
    return clause_id.split(".", 1)[0]


def quoted(segment: str) -> str:
    """A path segment for an API path (the relay takes paths as sent, percent-encoded)."""
    return quote(segment, safe="")


def handled(request: Request, exc: Exception) -> Response:
    """The page for a :class:`SignInNeeded` or :class:`Refused` raised by a page."""
    if isinstance(exc, SignInNeeded):
        target = "/sign-in?next=" + quote(exc.next_path, safe="")
        return redirect(target + ("&ended=1" if exc.ended else ""))
    assert isinstance(exc, Refused)
    console = console_of(request)
    session = console.sessions.get(request.cookies.get(COOKIE))
    return render(
        request,
        console,
        "error.html",
        session=session,
        status=exc.status,
        status_code=exc.status,
        detail=exc.detail,
    )
