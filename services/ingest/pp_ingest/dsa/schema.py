"""A statement of reasons as the DSA Transparency Database takes it: its fields and enum keys,
their bounds, and the cross-field rules. Errors name the DSA field that has to change."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from pp_shared.contracts.dsa import is_dsa_category, is_dsa_keyword
from pp_shared.problems import field_errors

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
