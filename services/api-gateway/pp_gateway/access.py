"""The role table: every public route, the service that serves it, what a caller needs to
call it, and how its answers are kept to a key's policy areas. One table: routing, the checks,
the published OpenAPI and the documentation (docs/access.md) are all read from it, and a test
holds it equal to the services' own OpenAPI path tables.

Roles grant permissions:

| role | permissions |
|---|---|
| ``ingest`` | submit |
| ``analyst`` | read, respond |
| ``policy_admin`` | read, respond, author |
| ``calibration_lead`` | read, respond, calibrate, moderators |
| ``admin`` | every permission |

- **submit**: send events and imports;
- **read**: insights, breaches, rules, taxonomy, models, dead letters, conflicts;
- **respond**: acknowledge and silence breaches;
- **author**: alert rules and taxonomy versions, retraining, dead-letter replays;
- **calibrate**: golden sets and exercises; **moderators**: answers of single moderators
  (the answers an exercise takes, the roster, and every table per moderator);
- **administer**: API keys and the audit log.

How a key restricted to policy areas is kept to them (:class:`Scoping`):

- ``NONE``: the answer holds no area's data;
- ``QUERY``: the route filters by ``area`` query parameters; a request naming another area is
  refused (403) and one naming none gets the key's areas added by the gateway;
- ``SERVICE``: the service filters what it answers by the areas in the forwarded identity;
- ``UNRESTRICTED``: the answer may hold any area's data and cannot be filtered (raw
  payloads of dead letters and conflicts, models trained on every area, publishing a whole
  taxonomy): keys restricted to areas get 403.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    INGEST = "ingest"
    ANALYST = "analyst"
    POLICY_ADMIN = "policy_admin"
    CALIBRATION_LEAD = "calibration_lead"
    ADMIN = "admin"


class Permission(StrEnum):
    SUBMIT = "submit"
    READ = "read"
    RESPOND = "respond"
    AUTHOR = "author"
    CALIBRATE = "calibrate"
    MODERATORS = "moderators"
    ADMINISTER = "administer"


GRANTS: dict[Role, frozenset[Permission]] = {
    Role.INGEST: frozenset({Permission.SUBMIT}),
    Role.ANALYST: frozenset({Permission.READ, Permission.RESPOND}),
    Role.POLICY_ADMIN: frozenset({Permission.READ, Permission.RESPOND, Permission.AUTHOR}),
    Role.CALIBRATION_LEAD: frozenset(
        {Permission.READ, Permission.RESPOND, Permission.CALIBRATE, Permission.MODERATORS}
    ),
    Role.ADMIN: frozenset(Permission),
}


class Scoping(StrEnum):
    NONE = "none"
    QUERY = "query"
    SERVICE = "service"
    UNRESTRICTED = "unrestricted"


GATEWAY = "gateway"
"""The ``service`` of the routes the gateway answers itself."""


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    path: str
    """The path template, as the service's OpenAPI spells it."""
    service: str
    permission: Permission
    scoping: Scoping

    @property
    def roles(self) -> tuple[Role, ...]:
        """The roles that may call this route, least privileged first."""
        return tuple(role for role in Role if self.permission in GRANTS[role])


_EXERCISE = "/v1/calibration/exercises/{exercise_id}"


def _routes() -> tuple[Route, ...]:
    p, s = Permission, Scoping
    rows: list[tuple[str, str, str, Permission, Scoping]] = [
        # ingest
        ("POST", "/v1/events", "ingest", p.SUBMIT, s.NONE),
        ("POST", "/v1/events:batch", "ingest", p.SUBMIT, s.NONE),
        ("POST", "/v1/imports/dsa", "ingest", p.SUBMIT, s.NONE),
        ("GET", "/v1/conflicts", "ingest", p.READ, s.UNRESTRICTED),
        ("GET", "/v1/dead-letters", "ingest", p.READ, s.UNRESTRICTED),
        ("GET", "/v1/dead-letters/{dead_letter_id}", "ingest", p.READ, s.UNRESTRICTED),
        ("POST", "/v1/dead-letters:replay", "ingest", p.AUTHOR, s.UNRESTRICTED),
        # classifier
        ("GET", "/v1/taxonomy", "classifier", p.READ, s.SERVICE),
        ("GET", "/v1/taxonomy/versions", "classifier", p.READ, s.NONE),
        ("POST", "/v1/taxonomy/versions", "classifier", p.AUTHOR, s.UNRESTRICTED),
        ("GET", "/v1/taxonomy/versions/{version}", "classifier", p.READ, s.SERVICE),
        ("GET", "/v1/taxonomy/diff", "classifier", p.READ, s.SERVICE),
        ("GET", "/v1/models", "classifier", p.READ, s.UNRESTRICTED),
        ("GET", "/v1/models/active", "classifier", p.READ, s.UNRESTRICTED),
        ("GET", "/v1/models/{version}", "classifier", p.READ, s.UNRESTRICTED),
        ("GET", "/v1/models/{version}/artifact", "classifier", p.READ, s.UNRESTRICTED),
        ("POST", "/v1/models/retrain", "classifier", p.AUTHOR, s.UNRESTRICTED),
        ("GET", "/v1/models/retrain/jobs", "classifier", p.READ, s.UNRESTRICTED),
        ("GET", "/v1/models/retrain/jobs/{job_id}", "classifier", p.READ, s.UNRESTRICTED),
        ("POST", "/v1/taxonomy/simulate", "classifier", p.AUTHOR, s.UNRESTRICTED),
        # Tags of any area for any text: restricted keys cannot be kept to theirs.
        ("POST", "/v1/tag", "classifier", p.READ, s.UNRESTRICTED),
        ("GET", "/v1/classifier/dead-letters", "classifier", p.READ, s.UNRESTRICTED),
        (
            "GET",
            "/v1/classifier/dead-letters/{dead_letter_id}",
            "classifier",
            p.READ,
            s.UNRESTRICTED,
        ),
        ("POST", "/v1/classifier/dead-letters:replay", "classifier", p.AUTHOR, s.UNRESTRICTED),
        # insights
        ("GET", "/v1/insights/volume", "insights", p.READ, s.QUERY),
        ("GET", "/v1/insights/trends", "insights", p.READ, s.QUERY),
        ("GET", "/v1/insights/metrics", "insights", p.READ, s.NONE),
        ("GET", "/v1/insights/cards", "insights", p.READ, s.QUERY),
        ("GET", "/v1/insights/movers", "insights", p.READ, s.QUERY),
        ("GET", "/v1/insights/drilldown", "insights", p.READ, s.QUERY),
        ("GET", "/v1/insights/confusion", "insights", p.READ, s.QUERY),
        ("GET", "/v1/insights/enforceability", "insights", p.READ, s.QUERY),
        # launches: the list filters by area, one launch and a new one are checked by the
        # service; an impact's default control may be another area: restricted keys may not
        ("GET", "/v1/launches", "insights", p.READ, s.QUERY),
        ("POST", "/v1/launches", "insights", p.AUTHOR, s.SERVICE),
        ("GET", "/v1/launches/{launch_id}", "insights", p.READ, s.SERVICE),
        ("GET", "/v1/launches/{launch_id}/impact", "insights", p.READ, s.UNRESTRICTED),
        # calibration: golden sets and exercises hold cases of any area; answers of single
        # moderators are the "moderators" permission's, everything else cohorts of five or more
        ("GET", "/v1/calibration/golden-sets", "insights", p.READ, s.UNRESTRICTED),
        ("POST", "/v1/calibration/golden-sets", "insights", p.CALIBRATE, s.UNRESTRICTED),
        ("GET", "/v1/calibration/golden-sets/{golden_set_id}", "insights", p.READ, s.UNRESTRICTED),
        ("GET", "/v1/calibration/exercises", "insights", p.READ, s.UNRESTRICTED),
        ("POST", "/v1/calibration/exercises", "insights", p.CALIBRATE, s.UNRESTRICTED),
        ("GET", f"{_EXERCISE}", "insights", p.READ, s.UNRESTRICTED),
        ("POST", f"{_EXERCISE}/close", "insights", p.CALIBRATE, s.UNRESTRICTED),
        ("POST", f"{_EXERCISE}/moderators", "insights", p.MODERATORS, s.UNRESTRICTED),
        ("POST", f"{_EXERCISE}/responses", "insights", p.MODERATORS, s.UNRESTRICTED),
        ("GET", f"{_EXERCISE}/comparison", "insights", p.READ, s.UNRESTRICTED),
        ("GET", f"{_EXERCISE}/results", "insights", p.READ, s.UNRESTRICTED),
        ("GET", f"{_EXERCISE}/results/clauses", "insights", p.READ, s.UNRESTRICTED),
        ("GET", f"{_EXERCISE}/results/cohorts", "insights", p.READ, s.UNRESTRICTED),
        ("GET", f"{_EXERCISE}/results/confusion", "insights", p.READ, s.UNRESTRICTED),
        ("GET", f"{_EXERCISE}/results/disputed", "insights", p.READ, s.UNRESTRICTED),
        ("GET", f"{_EXERCISE}/results/moderators", "insights", p.MODERATORS, s.UNRESTRICTED),
        (
            "GET",
            f"{_EXERCISE}/results/moderators/confusion",
            "insights",
            p.MODERATORS,
            s.UNRESTRICTED,
        ),
        ("GET", "/v1/calibration/production/agreement", "insights", p.READ, s.QUERY),
        ("GET", "/v1/calibration/production/agreement/clauses", "insights", p.READ, s.QUERY),
        (
            "GET",
            "/v1/calibration/production/agreement/moderators",
            "insights",
            p.MODERATORS,
            s.QUERY,
        ),
        ("GET", "/v1/insights/dead-letters", "insights", p.READ, s.UNRESTRICTED),
        (
            "GET",
            "/v1/insights/dead-letters/{dead_letter_id}",
            "insights",
            p.READ,
            s.UNRESTRICTED,
        ),
        ("POST", "/v1/insights/dead-letters:replay", "insights", p.AUTHOR, s.UNRESTRICTED),
        ("GET", "/v1/rules", "insights", p.READ, s.SERVICE),
        ("POST", "/v1/rules", "insights", p.AUTHOR, s.SERVICE),
        ("POST", "/v1/rules/preview", "insights", p.AUTHOR, s.SERVICE),
        ("GET", "/v1/rules/{rule_id}", "insights", p.READ, s.SERVICE),
        ("PUT", "/v1/rules/{rule_id}", "insights", p.AUTHOR, s.SERVICE),
        ("DELETE", "/v1/rules/{rule_id}", "insights", p.AUTHOR, s.SERVICE),
        ("GET", "/v1/rules/{rule_id}/versions", "insights", p.READ, s.SERVICE),
        ("GET", "/v1/breaches", "insights", p.READ, s.SERVICE),
        ("GET", "/v1/breaches/{breach_id}", "insights", p.READ, s.SERVICE),
        ("POST", "/v1/breaches/{breach_id}/ack", "insights", p.RESPOND, s.SERVICE),
        ("POST", "/v1/breaches/{breach_id}/silence", "insights", p.RESPOND, s.SERVICE),
        ("DELETE", "/v1/breaches/{breach_id}/silence", "insights", p.RESPOND, s.SERVICE),
        # the gateway's own
        ("GET", "/v1/keys", GATEWAY, p.ADMINISTER, s.NONE),
        ("POST", "/v1/keys", GATEWAY, p.ADMINISTER, s.NONE),
        ("DELETE", "/v1/keys/{prefix}", GATEWAY, p.ADMINISTER, s.NONE),
        ("GET", "/v1/audit", GATEWAY, p.ADMINISTER, s.NONE),
        ("GET", "/v1/whoami", GATEWAY, p.READ, s.NONE),
    ]
    return tuple(Route(*row) for row in rows)


ROUTES: tuple[Route, ...] = _routes()
SERVICES = ("ingest", "classifier", "insights")

_PARAMETER = re.compile(r"\{[^}/]+\}")


class RouteTable:
    """Finds the route of a raw request path: static paths by one dictionary lookup (the
    event intake is one), templated ones by one regular expression per method."""

    def __init__(self, routes: tuple[Route, ...] = ROUTES) -> None:
        self.static: dict[tuple[str, str], Route] = {}
        self.templated: dict[str, list[tuple[re.Pattern[str], Route]]] = {}
        self._static_methods: dict[str, set[str]] = {}
        for route in routes:
            if _PARAMETER.search(route.path) is None:
                self.static[(route.method, route.path)] = route
                self._static_methods.setdefault(route.path, set()).add(route.method)
                continue
            pattern = "".join(
                "[^/]+" if _PARAMETER.fullmatch(part) else re.escape(part)
                for part in re.split(r"(\{[^}/]+\})", route.path)
            )
            self.templated.setdefault(route.method, []).append((re.compile(pattern), route))

    def match(self, method: str, path: str) -> Route | None:
        """The route of ``method`` at ``path`` (raw, as the client sent it), or None."""
        route = self.static.get((method, path))
        if route is not None:
            return route
        for pattern, candidate in self.templated.get(method, ()):
            if pattern.fullmatch(path):
                return candidate
        return None

    def methods_at(self, path: str) -> list[str]:
        """The methods documented at ``path``: non-empty when the path exists under another
        method (405 with ``Allow``), empty when it does not (404). A path that is a template
        of its own (``/v1/rules/preview``) has its own methods, not those of a template it
        also fits (``/v1/rules/{rule_id}``)."""
        if path in self._static_methods:
            return sorted(self._static_methods[path])
        methods = set()
        for method, patterns in self.templated.items():
            if any(pattern.fullmatch(path) for pattern, _ in patterns):
                methods.add(method)
        return sorted(methods)


def markdown() -> str:
    """The role table as docs/access.md shows it (a test keeps the two equal)."""
    lines = [
        "| method | path | service | permission | roles | areas |",
        "|---|---|---|---|---|---|",
    ]
    for route in ROUTES:
        roles = ", ".join(r.value for r in route.roles)
        lines.append(
            f"| {route.method} | `{route.path}` | {route.service} | {route.permission.value} "
            f"| {roles} | {route.scoping.value} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
