"""Problem types of the ingest API, beside the shared ones (InvalidInput, NotFound,
PayloadTooLarge, UnsupportedMediaType, Unavailable)."""

from __future__ import annotations

from pp_shared.problems import ProblemError


class EventConflict(ProblemError):
    status_code = 409
    problem_type = "conflict"
    title = "The event id was already accepted with a different body"
