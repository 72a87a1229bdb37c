"""What a caller restricted to policy areas sees of alerting (the caller is the identity the
gateway forwards, ``pp_shared.identity``; an unrestricted caller sees everything).

- A **rule** is within a caller's areas when its ``scope`` names ``area`` and every area it
  names is one of the caller's. A rule without an ``area`` filter watches every area, so it is
  outside every restricted caller's areas, as is a rule naming an area of another key.
- A rule outside the caller's areas does not exist for it: reads and changes by id are 404,
  lists leave it out. A rule the caller writes (created, replaced or previewed) must be within
  its areas, or the request is refused with 403 naming ``/body/scope/area``.
- Of a rule's versions, those within the caller's areas are listed.
- A **breach** is seen when its rule (as it now is) is seen and the filters it was opened
  with name only the caller's areas: a rule moved from one area to another keeps its old
  breaches, and their evidence, from the new area's keys.
"""

from __future__ import annotations

from pp_insights.alerts.documents import BreachScope
from pp_insights.alerts.rules.spec import RuleSpec
from pp_shared.identity import Identity
from pp_shared.problems import Forbidden

AREA = "area"


def _within(named: list[str] | None, areas: frozenset[str]) -> bool:
    return bool(named) and set(named or ()) <= areas


def sees_rule(caller: Identity, spec: RuleSpec) -> bool:
    """Whether ``caller`` may see (and change) a rule with this spec."""
    return caller.areas is None or _within(spec.scope.get(AREA), caller.areas)


def sees_breach(caller: Identity, scope: BreachScope, spec: RuleSpec | None) -> bool:
    """Whether ``caller`` may see a breach opened with ``scope`` of a rule now at ``spec``
    (None: the rule has no version left)."""
    if caller.areas is None:
        return True
    return (
        spec is not None
        and sees_rule(caller, spec)
        and _within(scope["filters"].get(AREA), caller.areas)
    )


def require_within(caller: Identity, spec: RuleSpec) -> None:
    """Refuse (403) a rule a restricted caller may not write."""
    if sees_rule(caller, spec):
        return
    assert caller.areas is not None
    allowed = ", ".join(sorted(caller.areas)) or "none"
    raise Forbidden(
        f"this key is restricted to the policy areas {allowed}: a rule it writes must be "
        "scoped to them",
        errors=[
            {
                "pointer": "/body/scope/area",
                "detail": f"name one or more of {allowed}, and no other area",
            }
        ],
    )


def areas_param(caller: Identity) -> list[str] | None:
    """The caller's areas as the breach statements compare with them (None: unrestricted)."""
    if caller.areas is None:
        return None
    return sorted(caller.areas)
