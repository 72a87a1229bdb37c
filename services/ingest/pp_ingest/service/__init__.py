"""Ingest domain logic: validate, store each event once, publish, dead-letter the rest.

Imports no web framework: the HTTP and Kafka adapters call in here.
"""

from pp_ingest.service.dead_letters import replay
from pp_ingest.service.intake import HashLookups, submit, submit_batch
from pp_ingest.service.raw import BatchOutcome, process_raw_batch
from pp_ingest.service.validation import Rules, canonical, check_event, validate_event

__all__ = [
    "BatchOutcome",
    "HashLookups",
    "Rules",
    "canonical",
    "check_event",
    "process_raw_batch",
    "replay",
    "submit",
    "submit_batch",
    "validate_event",
]
