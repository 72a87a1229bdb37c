"""Import of EU DSA statements of reasons: the Transparency Database API form (JSON, one
statement or a list) and its CSV export (the 37-column layout of 2023-2025 and the current
38-column one, which added ``content_id_ean``).

Each valid statement becomes an ``escalation.created`` and a ``decision.made`` event, which
take the same path as any other event (dedupe against the log, then the raw topic). Their
event ids derive from the statement's ``puid`` (or, in the CSV export, which has no puid, its
``uuid``), so importing the same file twice stores it once. Errors name DSA fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, NotRequired

import asyncpg
from aiokafka import AIOKafkaProducer
from typing_extensions import TypedDict

from pp_ingest.dsa.mapping import to_events
from pp_ingest.dsa.readers import Row, read_csv, read_json
from pp_ingest.dsa.schema import validate_statement
from pp_ingest.intake.recent import RecentEvents
from pp_ingest.intake.schemas import BatchCounts, ItemStatus, RejectReason
from pp_ingest.intake.service import Outcome, accept, counts_of
from pp_ingest.intake.validation import Rules, validate_event
from pp_ingest.metrics import DSA_STATEMENTS
from pp_ingest.settings import IngestSettings
from pp_shared.contracts.events import Event
from pp_shared.problems import truncate_item_errors

Format = Literal["json", "csv", "csv_v1"]


class ImportItem(TypedDict, total=False):
    """The outcome of one statement, in request order."""

    index: int
    line: int
    puid: str
    status: ItemStatus
    reason: RejectReason
    escalation_id: str
    clause_id: str
    event_ids: list[str]
    errors: list[dict[str, Any]]


class ImportResult(TypedDict):
    """Per-statement outcomes. At most 100 errors are listed in all, in statement order; when
    more were found, ``errors_total`` counts them all, ``errors_truncated`` is true, and the
    rejected statements past the 100th error carry their status and reason without
    ``errors``."""

    format: Format
    counts: BatchCounts
    items: list[ImportItem]
    errors_total: NotRequired[int]
    errors_truncated: NotRequired[bool]


@dataclass
class _Judged:
    """The statements of one import as judged so far: every item, the events of the valid
    ones, and which statement each event stands for."""

    items: list[ImportItem] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    owners: list[int] = field(default_factory=list)
    error_count: int = 0


async def import_statements(
    pool: asyncpg.Pool,
    producer: AIOKafkaProducer,
    settings: IngestSettings,
    *,
    body: bytes,
    media_type: Literal["json", "csv"],
    recent: RecentEvents,
) -> ImportResult:
    """Validate each statement on its own, map the valid ones to events and accept them as a
    batch; return the outcome of every statement once the broker has the accepted ones."""
    fmt, rows = _read(body, media_type, settings)
    judged = _judge(rows, settings)
    outcomes = await accept(pool, producer, settings, judged.events, recent=recent, path="dsa")
    _settle(judged, outcomes)
    items = judged.items
    counts = counts_of(items)
    for status in ("accepted", "duplicate", "rejected"):
        if counts[status]:
            DSA_STATEMENTS.labels(fmt, status).inc(counts[status])
    result: ImportResult = {"format": fmt, "counts": counts, "items": items}
    # Every statement keeps its index, status and reason; only the first errors are listed.
    if truncate_item_errors(items, judged.error_count):
        result["errors_total"] = judged.error_count
        result["errors_truncated"] = True
    return result


def _read(
    body: bytes, media_type: Literal["json", "csv"], settings: IngestSettings
) -> tuple[Format, list[Row]]:
    limit = settings.dsa_import_max_statements
    if media_type == "csv":
        return read_csv(
            body, max_field_chars=settings.dsa_csv_max_field_chars, max_statements=limit
        )
    return "json", read_json(body, max_statements=limit)


def _judge(rows: list[Row], settings: IngestSettings) -> _Judged:
    """Validate each statement and map the valid ones to their two events."""
    now = datetime.now(UTC)
    rules = Rules.of(settings)
    judged = _Judged()
    for row in rows:
        item: ImportItem = {"index": row.index}
        if row.line is not None:
            item["line"] = row.line
        judged.items.append(item)
        key = row.data.get("puid") or row.data.get("uuid") if isinstance(row.data, dict) else None
        if isinstance(key, str):
            item["puid"] = key
        st, errors = (
            (None, row.errors) if row.errors else validate_statement(row.data, today=now.date())
        )
        if st is None:
            item.update({"status": "rejected", "reason": "invalid", "errors": errors or []})
            judged.error_count += len(errors or ())
            continue
        escalation, decision = to_events(st)
        mapped = [validate_event(e, now=now, rules=rules) for e in (escalation, decision)]
        failures = [err for _event, errs in mapped for err in errs]
        if failures:
            # A mapping that yields an invalid event is a bug here, not in the statement.
            raise RuntimeError(f"a DSA statement mapped to an invalid event: {failures}")
        pair = [event for event, _errs in mapped if event is not None]
        item.update(
            {
                "escalation_id": pair[0].escalation_id,
                "clause_id": decision["clause_id"],
                "event_ids": [e.event_id for e in pair],
            }
        )
        judged.events.extend(pair)
        judged.owners.extend([row.index, row.index])
    return judged


def _settle(judged: _Judged, outcomes: list[Outcome]) -> None:
    """Each valid statement's status from the outcomes of its two events."""
    per_statement: dict[int, list[str]] = {}
    for owner, outcome in zip(judged.owners, outcomes, strict=True):
        per_statement.setdefault(owner, []).append(outcome)
    for index, results in per_statement.items():
        item = judged.items[index]
        if "conflict" in results:
            item.update(
                {
                    "status": "rejected",
                    "reason": "conflict",
                    "errors": [
                        {
                            "pointer": "/puid",
                            "field": "puid",
                            "code": "conflict",
                            "detail": "a statement with this puid was imported before with other "
                            "content; this one is kept for inspection and not processed",
                        }
                    ],
                }
            )
            judged.error_count += 1
        else:
            item["status"] = "duplicate" if set(results) == {"duplicate"} else "accepted"
