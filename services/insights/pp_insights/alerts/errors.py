"""Problem types of the alert API, beside the shared ones (InvalidInput, NotFound)."""

from __future__ import annotations

from pp_shared.problems import ProblemError


class Conflict(ProblemError):
    status_code = 409
    problem_type = "conflict"
    title = "The request conflicts with the current state"
