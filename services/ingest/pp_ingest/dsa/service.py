"""Import of EU DSA statements of reasons: the Transparency Database API form (JSON, one
statement or a list) and its CSV export (the 37-column layout of 2023-2025 and the current
38-column one, which added ``content_id_ean``).

Each valid statement becomes an ``escalation.created`` and a ``decision.made`` event, which
take the same path as any other event (dedupe against the log, then the raw topic). Their
event ids derive from the statement's ``puid`` (or, in the CSV export, which has no puid, its
``uuid``), so importing the same file twice stores it once. Errors name DSA fields.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Literal, NotRequired, TypeVar

import asyncpg
from aiokafka import AIOKafkaProducer
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)
from typing_extensions import TypedDict

from pp_ingest.intake.bodies import undecodable
from pp_ingest.intake.service import accept
from pp_ingest.intake.validation import (
    Rules,
    UndecodableJson,
    load_json,
    utf8_failure,
    validate_event,
)
from pp_ingest.metrics import DSA_STATEMENTS
from pp_ingest.settings import (
    DSA_CSV_MAX_FIELD_CHARS,
    DSA_IMPORT_MAX_STATEMENTS,
    IngestSettings,
)
from pp_shared.dsa import default_clause, is_dsa_category, is_dsa_keyword
from pp_shared.events import Event
from pp_shared.problems import (
    InvalidInput,
    PayloadTooLarge,
    field_errors,
    truncate_item_errors,
)

SOURCE = "dsa-import"
# Event ids are UUIDv5 names under this namespace, so they are stable across imports.
EVENT_NAMESPACE = uuid.UUID("5b0c6f7e-2f4a-4d0e-9a51-7d1c3c0a9e21")
# Escalation and decision ids are Id strings of at most 128 characters; a puid may have 500.
_MAX_KEY_IN_ID = 100

CSV_COLUMNS = (
    "uuid",
    "decision_visibility",
    "decision_visibility_other",
    "end_date_visibility_restriction",
    "decision_monetary",
    "decision_monetary_other",
    "end_date_monetary_restriction",
    "decision_provision",
    "end_date_service_restriction",
    "decision_account",
    "end_date_account_restriction",
    "account_type",
    "decision_ground",
    "decision_ground_reference_url",
    "illegal_content_legal_ground",
    "illegal_content_explanation",
    "incompatible_content_ground",
    "incompatible_content_explanation",
    "incompatible_content_illegal",
    "category",
    "category_addition",
    "category_specification",
    "category_specification_other",
    "content_type",
    "content_type_other",
    "content_language",
    "content_date",
    "content_id_ean",
    "territorial_scope",
    "application_date",
    "decision_facts",
    "source_type",
    "source_identity",
    "automated_detection",
    "automated_decision",
    "platform_name",
    "platform_uid",
    "created_at",
)
CSV_COLUMNS_V1 = tuple(c for c in CSV_COLUMNS if c != "content_id_ean")
ARRAY_FIELDS = frozenset(
    {
        "decision_visibility",
        "content_type",
        "category_addition",
        "category_specification",
        "territorial_scope",
    }
)

DecisionVisibility = Literal[
    "DECISION_VISIBILITY_CONTENT_REMOVED",
    "DECISION_VISIBILITY_CONTENT_DISABLED",
    "DECISION_VISIBILITY_CONTENT_DEMOTED",
    "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED",
    "DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED",
    "DECISION_VISIBILITY_CONTENT_LABELLED",
    "DECISION_VISIBILITY_OTHER",
]
DecisionMonetary = Literal[
    "DECISION_MONETARY_SUSPENSION", "DECISION_MONETARY_TERMINATION", "DECISION_MONETARY_OTHER"
]
DecisionProvision = Literal[
    "DECISION_PROVISION_PARTIAL_SUSPENSION",
    "DECISION_PROVISION_TOTAL_SUSPENSION",
    "DECISION_PROVISION_PARTIAL_TERMINATION",
    "DECISION_PROVISION_TOTAL_TERMINATION",
]
DecisionAccount = Literal["DECISION_ACCOUNT_SUSPENDED", "DECISION_ACCOUNT_TERMINATED"]
DecisionGround = Literal["DECISION_GROUND_ILLEGAL_CONTENT", "DECISION_GROUND_INCOMPATIBLE_CONTENT"]
ContentType = Literal[
    "CONTENT_TYPE_APP",
    "CONTENT_TYPE_AUDIO",
    "CONTENT_TYPE_IMAGE",
    "CONTENT_TYPE_PRODUCT",
    "CONTENT_TYPE_SYNTHETIC_MEDIA",
    "CONTENT_TYPE_TEXT",
    "CONTENT_TYPE_VIDEO",
    "CONTENT_TYPE_OTHER",
]
SourceType = Literal[
    "SOURCE_ARTICLE_16",
    "SOURCE_TRUSTED_FLAGGER",
    "SOURCE_TYPE_OTHER_NOTIFICATION",
    "SOURCE_VOLUNTARY",
]
AutomatedDecision = Literal[
    "AUTOMATED_DECISION_FULLY", "AUTOMATED_DECISION_PARTIALLY", "AUTOMATED_DECISION_NOT_AUTOMATED"
]
YesNo = Literal["Yes", "No"]
# The DSA database's territorial scope: the EU member states and the EEA's Iceland,
# Liechtenstein and Norway. Greece is GR, as in ISO 3166-1.
_EEA = "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IS IT LI LT LU LV MT NL NO PL PT RO SE SI SK"
EEA_COUNTRIES = frozenset(_EEA.split())
_LANGUAGE = re.compile(r"^[A-Z]{2}$")
_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")


def _in_set(check: Callable[[str], bool], expected: str) -> Callable[[str], str]:
    def validate(value: str) -> str:
        if not check(value):
            raise ValueError(f"expected {expected}")
        return value

    return validate


def _date_between(low: date, high: date) -> Callable[[Any], date]:
    def validate(value: Any) -> date:
        if isinstance(value, date):
            day = value
        else:
            match = _DATE.match(value) if isinstance(value, str) else None
            if match is None:
                raise ValueError("expected a date as Y-m-d (e.g. 2025-03-14)")
            try:
                day = date.fromisoformat(match.group(1))
            except ValueError as exc:
                raise ValueError(f"not a calendar date: {exc}") from None
        if not low <= day <= high:
            raise ValueError(f"expected a date from {low} to {high}")
        return day

    return validate


Text500 = Annotated[str, StringConstraints(max_length=500)]
Text2000 = Annotated[str, StringConstraints(max_length=2000)]
Category = Annotated[str, AfterValidator(_in_set(is_dsa_category, "a DSA category key"))]
Keyword = Annotated[str, AfterValidator(_in_set(is_dsa_keyword, "a DSA keyword key"))]
Country = Annotated[
    str, AfterValidator(_in_set(EEA_COUNTRIES.__contains__, "an EU/EEA country code"))
]
Language = Annotated[
    str,
    AfterValidator(_in_set(lambda v: bool(_LANGUAGE.match(v)), "an ISO 639-1 code such as EN")),
]
ContentDate = Annotated[date, BeforeValidator(_date_between(date(2000, 1, 1), date(2038, 1, 1)))]
ApplicationDate = Annotated[
    date, BeforeValidator(_date_between(date(2020, 1, 1), date(2038, 1, 1)))
]
EndDate = Annotated[date, BeforeValidator(_date_between(date(2000, 1, 1), date(2038, 1, 1)))]
Puid = Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=r"^[a-zA-Z0-9_-]+$")]
# No DSA array has more distinct values than this (79 keywords with the legacy ones, 30
# countries). A longer one is refused as a whole before its items are checked: a statement with
# a million bad countries cost a million errors (7.5 MB answered with 206 MB, in 24 s).
MAX_ARRAY_ITEMS = 100
_T = TypeVar("_T")
Array = Annotated[list[_T], Field(max_length=MAX_ARRAY_ITEMS)]


class Statement(BaseModel):
    """A statement of reasons as the DSA Transparency Database API takes it (field names and
    enum keys are the database's own)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    puid: Puid | None = None
    uuid: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    decision_visibility: Array[DecisionVisibility] | None = None
    decision_visibility_other: Text500 | None = None
    end_date_visibility_restriction: EndDate | None = None
    decision_monetary: DecisionMonetary | None = None
    decision_monetary_other: Text500 | None = None
    end_date_monetary_restriction: EndDate | None = None
    decision_provision: DecisionProvision | None = None
    end_date_service_restriction: EndDate | None = None
    decision_account: DecisionAccount | None = None
    end_date_account_restriction: EndDate | None = None
    account_type: Literal["ACCOUNT_TYPE_BUSINESS", "ACCOUNT_TYPE_PRIVATE"] | None = None
    decision_ground: DecisionGround
    decision_ground_reference_url: Text500 | None = None
    illegal_content_legal_ground: Text500 | None = None
    illegal_content_explanation: Text2000 | None = None
    incompatible_content_ground: Text500 | None = None
    incompatible_content_explanation: Text2000 | None = None
    incompatible_content_illegal: YesNo | None = None
    category: Category
    category_addition: Array[Category] | None = None
    category_specification: Array[Keyword] | None = None
    category_specification_other: Text500 | None = None
    content_type: Array[ContentType]
    content_type_other: Text500 | None = None
    content_language: Language | None = None
    content_date: ContentDate
    content_id_ean: Annotated[str, StringConstraints(pattern=r"^\d{13}$")] | None = None
    territorial_scope: Array[Country] | None = None
    application_date: ApplicationDate
    decision_facts: Annotated[str, StringConstraints(min_length=1, max_length=5000)]
    source_type: SourceType
    source_identity: Text500 | None = None
    automated_detection: YesNo
    automated_decision: AutomatedDecision
    platform_name: Text500 | None = None

    @property
    def key(self) -> str:
        """The idempotency key: the platform's puid, else the database's uuid."""
        key = self.puid or self.uuid
        assert key is not None, "checked by rule_errors"
        return key


def rule_errors(st: Statement, *, today: date) -> list[dict[str, Any]]:
    """The DSA's cross-field rules, each error on the field that has to change."""
    errors: list[dict[str, Any]] = []

    def need(name: str, detail: str) -> None:
        errors.append({"pointer": f"/{name}", "field": name, "detail": detail})

    if st.puid is None and st.uuid is None:
        need("puid", "puid is required (a CSV export row needs its uuid instead)")
    restrictions = (
        st.decision_visibility,
        st.decision_monetary,
        st.decision_provision,
        st.decision_account,
    )
    if not any(restrictions):
        need(
            "decision_visibility",
            "at least one of decision_visibility, decision_monetary, decision_provision and "
            "decision_account is required",
        )
    if not st.content_type:
        need("content_type", "at least one content type is required")
    if st.decision_ground == "DECISION_GROUND_ILLEGAL_CONTENT":
        for name in ("illegal_content_legal_ground", "illegal_content_explanation"):
            if not getattr(st, name):
                need(name, f"required when decision_ground is {st.decision_ground}")
    else:
        for name in ("incompatible_content_ground", "incompatible_content_explanation"):
            if not getattr(st, name):
                need(name, f"required when decision_ground is {st.decision_ground}")
    if "DECISION_VISIBILITY_OTHER" in (st.decision_visibility or ()) and not (
        st.decision_visibility_other
    ):
        need("decision_visibility_other", "required when decision_visibility has OTHER")
    if st.decision_monetary == "DECISION_MONETARY_OTHER" and not st.decision_monetary_other:
        need("decision_monetary_other", "required when decision_monetary is OTHER")
    if "CONTENT_TYPE_OTHER" in st.content_type and not st.content_type_other:
        need("content_type_other", "required when content_type has CONTENT_TYPE_OTHER")
    if st.source_type == "SOURCE_VOLUNTARY" and st.source_identity:
        need("source_identity", "must be empty when source_type is SOURCE_VOLUNTARY")
    for name in ("application_date", "content_date"):
        if getattr(st, name) > today:
            need(name, "lies in the future")
    if st.content_date > st.application_date:
        need("content_date", "lies after application_date")
    return errors


# ---- mapping to events ----------------------------------------------------------------------

_CONTENT_TYPES = {
    "CONTENT_TYPE_APP": "app",
    "CONTENT_TYPE_AUDIO": "audio",
    "CONTENT_TYPE_IMAGE": "image",
    "CONTENT_TYPE_PRODUCT": "product",
    "CONTENT_TYPE_SYNTHETIC_MEDIA": "synthetic_media",
    "CONTENT_TYPE_TEXT": "text",
    "CONTENT_TYPE_VIDEO": "video",
    "CONTENT_TYPE_OTHER": "other",
}
_REPORTERS = {
    "SOURCE_ARTICLE_16": "user_report",
    "SOURCE_TRUSTED_FLAGGER": "trusted_flagger",
    "SOURCE_TYPE_OTHER_NOTIFICATION": "user_report",
}


def action_of(st: Statement) -> str:
    """The most severe restriction the statement reports, as a PolicyPulse action."""
    visibility = set(st.decision_visibility or ())
    if "TERMINATED" in (st.decision_account or "") or st.decision_provision == (
        "DECISION_PROVISION_TOTAL_TERMINATION"
    ):
        return "account_ban"
    if st.decision_account or st.decision_provision == "DECISION_PROVISION_TOTAL_SUSPENSION":
        return "account_strike"
    if visibility & {"DECISION_VISIBILITY_CONTENT_REMOVED", "DECISION_VISIBILITY_CONTENT_DISABLED"}:
        return "remove"
    if "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED" in visibility:
        return "age_gate"
    if visibility == {"DECISION_VISIBILITY_CONTENT_LABELLED"}:
        return "label"
    return "restrict"


def region_of(st: Statement) -> str:
    """The one country the decision applies to, else ``EU`` (ISO 3166-1 reserves it)."""
    scope = set(st.territorial_scope or ())
    return scope.pop() if len(scope) == 1 else "EU"


def _id_part(key: str) -> str:
    if len(key) <= _MAX_KEY_IN_ID:
        return key
    return "sha256-" + hashlib.sha256(key.encode()).hexdigest()[:40]


def _midnight(day: date) -> str:
    return datetime.combine(day, time(), tzinfo=UTC).isoformat().replace("+00:00", "Z")


def to_events(st: Statement) -> tuple[dict[str, Any], dict[str, Any]]:
    """The escalation and the decision a statement stands for, as wire-format dicts."""
    target = default_clause(st.category, st.category_specification or ())
    part = _id_part(st.key)
    escalation_id = f"dsa:{part}"
    common = {"schema_version": 1, "source": SOURCE, "escalation_id": escalation_id}
    escalation = {
        **common,
        "event_id": str(uuid.uuid5(EVENT_NAMESPACE, f"{st.key}/escalation")),
        "event_type": "escalation.created",
        "occurred_at": _midnight(st.content_date),
        "content_id": escalation_id,
        "content_type": _CONTENT_TYPES[st.content_type[0]],
        "product_feature": "unspecified",
        "region": region_of(st),
        "language": (st.content_language or "und").lower(),
        "queue": "dsa-import",
        "escalation_reason": (
            "legal_request" if st.decision_ground == "DECISION_GROUND_ILLEGAL_CONTENT" else "other"
        ),
        "reporter_type": _REPORTERS.get(
            st.source_type,
            "automated_detection" if st.automated_detection == "Yes" else "moderator",
        ),
        "suggested_clause_id": target.clause_id,
    }
    decision = {
        **common,
        "event_id": str(uuid.uuid5(EVENT_NAMESPACE, f"{st.key}/decision")),
        "event_type": "decision.made",
        "occurred_at": _midnight(st.application_date),
        "decision_id": f"{escalation_id}:decision",
        "moderator_id": (
            "dsa:automated" if st.automated_decision == "AUTOMATED_DECISION_FULLY" else "dsa:human"
        ),
        "tier": "frontline",
        "action": action_of(st),
        "clause_id": target.clause_id,
    }
    return escalation, decision


# ---- reading the request -------------------------------------------------------------------


class ImportItem(TypedDict, total=False):
    """The outcome of one statement, in request order."""

    index: int
    line: int
    puid: str
    status: Literal["accepted", "duplicate", "rejected"]
    reason: Literal["invalid", "conflict"]
    escalation_id: str
    clause_id: str
    event_ids: list[str]
    errors: list[dict[str, Any]]


class ImportResult(TypedDict):
    """Per-statement outcomes. At most 100 errors are listed in all, in statement order; when
    more were found, ``errors_total`` counts them all, ``errors_truncated`` is true, and the
    rejected statements past the 100th error carry their status and reason without
    ``errors``."""

    format: Literal["json", "csv", "csv_v1"]
    counts: dict[str, int]
    items: list[ImportItem]
    errors_total: NotRequired[int]
    errors_truncated: NotRequired[bool]


@dataclass
class _Row:
    index: int
    data: Any
    line: int | None = None
    errors: list[dict[str, Any]] | None = None


def read_json(body: bytes, *, max_statements: int) -> list[_Row]:
    try:
        data = load_json(body)
    except UndecodableJson as exc:
        raise undecodable(exc) from None
    statements = data if isinstance(data, list) else [data]
    if len(statements) > max_statements:
        raise too_many_statements(max_statements, len(statements))
    return [_Row(i, s) for i, s in enumerate(statements)]


def too_many_statements(limit: int, found: int | None) -> PayloadTooLarge:
    """The 413 for an import over the limit, raised before the statements are held."""
    return PayloadTooLarge(
        f"an import may hold at most {limit} statements; this one has "
        + (str(found) if found is not None else "more")
    )


def read_csv(
    body: bytes,
    *,
    max_field_chars: int = DSA_CSV_MAX_FIELD_CHARS,
    max_statements: int = DSA_IMPORT_MAX_STATEMENTS,
) -> tuple[Literal["csv", "csv_v1"], list[_Row]]:
    """Rows of a DSA CSV export; the header says which layout it is. A header that is not a
    DSA layout, or a field longer than ``max_field_chars``, is a 422 for the whole body, and
    more than ``max_statements`` rows a 413."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as bad:
        raise undecodable(utf8_failure(body, bad)) from None
    header, header_lines, header_chars = _read_header(text)
    layout = _layout_of(header)
    buffer = io.StringIO(text, newline="")
    buffer.seek(header_chars)
    # The csv module's own field limit (131,072 characters, process-wide) is an error that
    # ends the reader; fields between max_field_chars and it are refused below.
    reader = csv.reader(buffer)
    rows: list[_Row] = []
    while True:
        start = buffer.tell()
        line = header_lines + reader.line_num + 1  # where the next record starts
        try:
            values = next(reader, None)
        except csv.Error as exc:
            raise _unreadable_row(
                text, start, header, len(rows), line, max_field_chars, exc
            ) from None
        if values is None:
            break
        if values and max(map(len, values)) > max_field_chars:
            column = next(i for i, v in enumerate(values) if len(v) > max_field_chars)
            raise _field_too_long(header, column, len(rows), line, max_field_chars)
        if not any(v.strip() for v in values):
            continue
        if len(rows) == max_statements:
            # Counting the rest would cost as much as reading them.
            raise too_many_statements(max_statements, None)
        end_line = header_lines + reader.line_num
        row = _Row(len(rows), None, line=end_line)
        if len(values) != len(header):
            row.errors = [
                {
                    "pointer": "",
                    "detail": f"line {end_line} has {len(values)} fields; "
                    f"the header has {len(header)}",
                }
            ]
        else:
            row.data = {
                name: _csv_value(name, value)
                for name, value in zip(header, values, strict=True)
                if value.strip()
            }
        rows.append(row)
    return layout, rows


# A header is read from at most this many characters, and may have at most this many columns:
# the DSA export's has 38 columns in 765 characters. A longer or wider one is refused before
# any of it is held (a header of a million columns once took two seconds and half a gigabyte),
# while one with a few stray columns still gets every missing and unknown column named.
MAX_HEADER_CHARS = 4096
MAX_CSV_COLUMNS = 2 * len(CSV_COLUMNS)


def _read_header(text: str) -> tuple[list[str], int, int]:
    """The header row, and how many lines and characters it took."""
    head = text[:MAX_HEADER_CHARS]
    lines = io.StringIO(head, newline="")
    reader = csv.reader(lines)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise _header_problem(f"the CSV header is not readable: {exc}") from None
    if header is None:
        raise InvalidInput(
            "the CSV body is empty", errors=[{"pointer": "", "detail": "expected a header row"}]
        )
    consumed = lines.tell()
    if consumed == len(head) < len(text) and not head.endswith(("\n", "\r")):
        raise _header_problem(f"the CSV header is longer than {MAX_HEADER_CHARS} characters")
    if len(header) > MAX_CSV_COLUMNS:
        raise _header_problem(
            f"the CSV header has {len(header)} columns; a DSA export has "
            f"{len(CSV_COLUMNS_V1)} or {len(CSV_COLUMNS)}"
        )
    return [h.strip() for h in header], reader.line_num, consumed


def _header_problem(detail: str) -> InvalidInput:
    return InvalidInput(detail, errors=[{"pointer": "/header", "detail": detail}])


def _layout_of(header: list[str]) -> Literal["csv", "csv_v1"]:
    if set(header) == set(CSV_COLUMNS):
        return "csv"
    if set(header) == set(CSV_COLUMNS_V1):
        return "csv_v1"
    missing = [c for c in CSV_COLUMNS_V1 if c not in header]
    unknown = [h for h in header if h not in CSV_COLUMNS]
    raise InvalidInput(
        "the CSV header is neither the 38-column DSA export layout nor the 37-column one",
        errors=[
            *({"pointer": "/header", "field": c, "detail": "missing column"} for c in missing),
            *({"pointer": "/header", "field": c, "detail": "unknown column"} for c in unknown),
        ],
    )


def _field_too_long(
    header: list[str], column: int, index: int, line: int, limit: int
) -> InvalidInput:
    """The 422 for a field over the limit: ``/rows/<index>/<column name>``."""
    name = header[column] if column < len(header) else None
    where = name or f"field {column + 1}"
    return InvalidInput(
        f"a field of the CSV body is longer than {limit} characters",
        errors=[
            {
                "pointer": f"/rows/{index}" + (f"/{name}" if name else ""),
                **({"field": name} if name else {}),
                "detail": f"the row on line {line}: {where} is longer than {limit} characters",
            }
        ],
    )


def _unreadable_row(
    text: str, start: int, header: list[str], index: int, line: int, limit: int, exc: csv.Error
) -> InvalidInput:
    """The 422 for a record the csv module gave up on, which it does (under the default
    dialect, with every line end accepted) only for a field over its own limit. It does not
    say which field, so the record is scanned for the first one over ``limit``."""
    column = _long_field(text, start, limit)
    if column is not None:
        return _field_too_long(header, column, index, line, limit)
    return InvalidInput(
        f"the CSV row on line {line} is not readable",
        errors=[{"pointer": f"/rows/{index}", "detail": f"line {line}: {exc}"}],
    )


_SEPARATOR = re.compile(r"[,\r\n]")


def _long_field(text: str, pos: int, limit: int) -> int | None:
    """The column of the first field longer than ``limit`` in the CSV record that starts at
    ``pos`` (the csv module's default dialect), or None."""
    column = 0
    while True:
        length = 0
        if text.startswith('"', pos):
            pos += 1
            while True:
                quote = text.find('"', pos)
                if quote < 0:
                    length, pos = length + len(text) - pos, len(text)
                    break
                length += quote - pos
                pos = quote + 1
                if not text.startswith('"', pos):
                    break
                length, pos = length + 1, pos + 1  # "" is one quote
        separator = _SEPARATOR.search(text, pos)
        end = separator.start() if separator else len(text)
        if length + end - pos > limit:
            return column
        if separator is None or separator.group() != ",":
            return None
        column, pos = column + 1, end + 1


def _csv_value(name: str, value: str) -> Any:
    """A CSV cell as the API form has it: arrays from ``["A","B"]`` or ``A,B``."""
    value = value.strip()
    if name not in ARRAY_FIELDS:
        return value
    if value.startswith("["):
        try:
            return load_json(value.encode())
        except UndecodableJson:
            return value  # left for validation to name the field
    return [part.strip() for part in value.split(",") if part.strip()]


def validate_statement(data: Any, *, today: date) -> tuple[Statement | None, list[dict[str, Any]]]:
    """The statement, or None and its errors (pointers and DSA field names)."""
    if not isinstance(data, dict):
        return None, [{"pointer": "", "detail": "expected a statement object"}]
    try:
        st = Statement.model_validate(data)
    except ValidationError as exc:
        errors = field_errors(exc.errors())
        for err in errors:
            err["field"] = err["pointer"].split("/")[1] if err["pointer"] else ""
        return None, errors
    errors = rule_errors(st, today=today)
    return (None, errors) if errors else (st, [])


async def import_statements(
    pool: asyncpg.Pool,
    producer: AIOKafkaProducer,
    settings: IngestSettings,
    *,
    body: bytes,
    media_type: Literal["json", "csv"],
) -> ImportResult:
    """Validate each statement on its own, map the valid ones to events and accept them as a
    batch; return the outcome of every statement once the broker has the accepted ones."""
    limit = settings.dsa_import_max_statements
    if media_type == "csv":
        layout, rows = read_csv(
            body, max_field_chars=settings.dsa_csv_max_field_chars, max_statements=limit
        )
        fmt: Literal["json", "csv", "csv_v1"] = layout
    else:
        rows, fmt = read_json(body, max_statements=limit), "json"
    now = datetime.now(UTC)
    rules = Rules.of(settings)
    items: list[ImportItem] = []
    events: list[Event] = []
    owners: list[int] = []
    error_count = 0
    for row in rows:
        item: ImportItem = {"index": row.index}
        if row.line is not None:
            item["line"] = row.line
        items.append(item)
        key = row.data.get("puid") or row.data.get("uuid") if isinstance(row.data, dict) else None
        if isinstance(key, str):
            item["puid"] = key
        st, errors = (
            (None, row.errors) if row.errors else validate_statement(row.data, today=now.date())
        )
        if st is None:
            item.update({"status": "rejected", "reason": "invalid", "errors": errors or []})
            error_count += len(errors or ())
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
        events.extend(pair)
        owners.extend([row.index, row.index])
    outcomes = await accept(pool, producer, settings, events, path="dsa")
    per_statement: dict[int, list[str]] = {}
    for owner, outcome in zip(owners, outcomes, strict=True):
        per_statement.setdefault(owner, []).append(outcome)
    for index, results in per_statement.items():
        item = items[index]
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
            error_count += 1
        else:
            item["status"] = "duplicate" if set(results) == {"duplicate"} else "accepted"
    statuses = Counter(item["status"] for item in items)
    for status, n in statuses.items():
        DSA_STATEMENTS.labels(fmt, status).inc(n)
    result: ImportResult = {
        "format": fmt,
        "counts": {
            "received": len(items),
            "accepted": statuses["accepted"],
            "duplicate": statuses["duplicate"],
            "rejected": statuses["rejected"],
        },
        "items": items,
    }
    # Every statement keeps its index, status and reason; only the first errors are listed.
    if truncate_item_errors(items, error_count):
        result["errors_total"] = error_count
        result["errors_truncated"] = True
    return result


def media_type_of(content_type: str) -> Literal["json", "csv"] | None:
    kind = content_type.split(";")[0].strip().lower()
    if kind in ("application/json", ""):
        return "json"
    if kind in ("text/csv", "application/csv"):
        return "csv"
    return None
