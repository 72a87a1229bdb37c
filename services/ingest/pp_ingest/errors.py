"""Errors of the ingest domain. A ProblemError carries its HTTP status and renders as it is
(beside the shared ones: InvalidInput, NotFound, PayloadTooLarge, UnsupportedMediaType); a
DependencyUnavailable says only what failed, and the HTTP adapter (``pp_ingest.api.problems``)
answers it with 503 and Retry-After."""

from __future__ import annotations

from pp_shared.problems import ProblemError


class EventConflict(ProblemError):
    status_code = 409
    problem_type = "conflict"
    title = "The event id was already accepted with a different body"


class DependencyUnavailable(Exception):
    """The broker or the database did not answer in time: the same request may succeed later,
    and sending it again is safe (events are stored once by event_id). ``detail`` is for the
    sender, ``reason`` names the failure (its type)."""

    def __init__(self, detail: str, *, reason: str) -> None:
        super().__init__(detail)
        self.detail = detail
        self.reason = reason


class BrokerUnavailable(DependencyUnavailable):
    """The broker did not acknowledge every message in time; some may have been written."""


class EventLogUnavailable(DependencyUnavailable):
    """The event log did not record the conflicts of a request, so none of it was accepted."""
