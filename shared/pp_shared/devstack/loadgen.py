"""Realistic synthetic moderation events for benchmarks and demos.

Skewed areas, clauses and regions, 400-character texts, and decisions, appeals and QA
reviews that follow their escalations in time. Deterministic for a given seed.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

# Clause ids by area; the classifier's taxonomy is the authority, these mirror its shape.
CLAUSES: dict[str, tuple[str, ...]] = {
    "HATE": (
        "HATE.PROTECTED_ATTR.RACE",
        "HATE.PROTECTED_ATTR.ETHNICITY",
        "HATE.PROTECTED_ATTR.NATIONAL_ORIGIN",
        "HATE.PROTECTED_ATTR.RELIGION",
        "HATE.PROTECTED_ATTR.CASTE",
        "HATE.PROTECTED_ATTR.SEXUAL_ORIENTATION",
        "HATE.PROTECTED_ATTR.SEX",
        "HATE.PROTECTED_ATTR.GENDER_IDENTITY",
        "HATE.PROTECTED_ATTR.DISABILITY",
        "HATE.PROTECTED_ATTR.SERIOUS_DISEASE",
        "HATE.PROTECTED_ATTR.IMMIGRATION_STATUS",
        "HATE.SLURS",
        "HATE.DEHUMANISATION",
        "HATE.HATEFUL_IDEOLOGY",
        "HATE.CONSPIRACY",
        "HATE.INCITEMENT_TO_HATRED",
    ),
    "VBDA": (
        "VBDA.THREATS",
        "VBDA.INCITEMENT",
        "VBDA.GLORIFICATION",
        "VBDA.EXTREMIST_ORGS",
        "VBDA.DANGEROUS_CHALLENGES",
        "VBDA.WEAPONS_INSTRUCTIONS",
        "VBDA.EXPLOSIVES",
        "VBDA.SELF_HARM_PROMOTION",
        "VBDA.DOXXING",
        "VBDA.ANIMAL_CRUELTY",
        "VBDA.WEAPONS_TRADE",
    ),
    "HEX": (
        "HEX.TRAFFICKING",
        "HEX.SMUGGLING",
        "HEX.FORCED_LABOUR",
        "HEX.COMMERCIAL_SEXUAL",
        "HEX.SEXTORTION",
        "HEX.GROOMING",
        "HEX.ORGAN_TRADE",
        "HEX.DOMESTIC_SERVITUDE",
        "HEX.RECRUITMENT_FRAUD",
        "HEX.CHILD_LABOUR",
        "HEX.NON_CONSENSUAL_INTIMATE_IMAGERY",
    ),
    "INA": (
        "INA.MISINFORMATION",
        "INA.ELECTION_INTEGRITY",
        "INA.SYNTHETIC_MEDIA",
        "INA.IMPERSONATION",
        "INA.COVERT_INFLUENCE",
        "INA.SPAM",
        "INA.FAKE_ENGAGEMENT",
        "INA.HACKED_MATERIALS",
        "INA.SCAMS",
        "INA.CIVIC_DISCOURSE",
    ),
}
AREA_WEIGHTS = {"HATE": 0.40, "VBDA": 0.25, "INA": 0.25, "HEX": 0.10}
REGIONS = (
    "US",
    "IN",
    "BR",
    "ID",
    "MX",
    "DE",
    "GB",
    "FR",
    "PH",
    "TR",
    "NG",
    "EG",
    "JP",
    "IT",
    "ES",
    "PK",
    "VN",
    "TH",
    "CO",
    "AR",
    "PL",
    "KE",
    "ZA",
    "SA",
    "CA",
    "UA",
    "MA",
    "NL",
    "SE",
    "AU",
)
LANGUAGE_OF = {
    "US": "en",
    "IN": "hi",
    "BR": "pt",
    "ID": "id",
    "MX": "es",
    "DE": "de",
    "GB": "en",
    "FR": "fr",
    "PH": "tl",
    "TR": "tr",
    "NG": "en",
    "EG": "ar",
    "JP": "ja",
    "IT": "it",
    "ES": "es",
    "PK": "ur",
    "VN": "vi",
    "TH": "th",
    "CO": "es",
    "AR": "es",
    "PL": "pl",
    "KE": "sw",
    "ZA": "en",
    "SA": "ar",
    "CA": "en",
    "UA": "uk",
    "MA": "ar",
    "NL": "nl",
    "SE": "sv",
    "AU": "en",
}
FEATURES = ("comments", "video", "live", "direct_messages", "profile", "ads")
FEATURE_WEIGHTS = (0.35, 0.25, 0.12, 0.12, 0.10, 0.06)
REASONS = (
    "policy_unclear",
    "high_severity",
    "novel_trend",
    "legal_request",
    "press_or_public",
    "other",
)
REASON_WEIGHTS = (0.22, 0.38, 0.12, 0.08, 0.05, 0.15)
REPORTERS = ("user_report", "automated_detection", "moderator", "trusted_flagger")
REPORTER_WEIGHTS = (0.45, 0.35, 0.15, 0.05)
ACTIONS = (
    "remove",
    "restrict",
    "age_gate",
    "label",
    "no_violation",
    "account_strike",
    "account_ban",
)
ACTION_WEIGHTS = (0.45, 0.10, 0.05, 0.08, 0.22, 0.07, 0.03)
WORDS = (
    "report",
    "content",
    "review",
    "queue",
    "context",
    "policy",
    "user",
    "post",
    "video",
    "comment",
    "clip",
    "stream",
    "account",
    "message",
    "thread",
    "reply",
    "caption",
    "image",
    "link",
    "group",
    "page",
    "event",
    "claim",
    "source",
    "community",
    "share",
    "tag",
    "note",
)


@dataclass(frozen=True)
class Profile:
    seed: int = 7
    start: datetime = datetime(2026, 11, 1, tzinfo=UTC)
    span: timedelta = timedelta(days=1)
    decision_share: float = 0.9
    appeal_share: float = 0.15
    qa_share: float = 0.10
    text_chars: int = 400


class Generator:
    """Yields events; ``escalation_events`` gives one escalation and what follows it."""

    def __init__(self, profile: Profile = Profile()) -> None:
        self.p = profile
        self.rng = random.Random(profile.seed)
        region_w = [1.0 / (i + 1) ** 0.9 for i in range(len(REGIONS))]  # Zipf-like
        self._region_w = region_w
        self._areas = list(AREA_WEIGHTS)
        self._area_w = list(AREA_WEIGHTS.values())
        self._n = 0

    def _id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _text(self) -> str:
        out: list[str] = []
        size = 0
        while size < self.p.text_chars:
            w = self.rng.choice(WORDS)
            out.append(w)
            size += len(w) + 1
        return " ".join(out)[: self.p.text_chars]

    def escalation_events(self, *, at: datetime | None = None) -> list[dict[str, Any]]:
        rng = self.rng
        self._n += 1
        esc_id = f"esc-{self.p.seed}-{self._n}"
        created = at or self.p.start + timedelta(seconds=rng.random() * self.p.span.total_seconds())
        area = rng.choices(self._areas, self._area_w)[0]
        clauses = CLAUSES[area]
        clause = clauses[min(int(rng.expovariate(0.35)), len(clauses) - 1)]
        region = rng.choices(REGIONS, self._region_w)[0]
        ts = created.isoformat().replace("+00:00", "Z")
        events: list[dict[str, Any]] = [
            {
                "event_id": self._id(),
                "event_type": "escalation.created",
                "schema_version": 1,
                "occurred_at": ts,
                "source": "loadgen",
                "escalation_id": esc_id,
                "content_id": f"c-{self._n}",
                "content_type": "text",
                "product_feature": rng.choices(FEATURES, FEATURE_WEIGHTS)[0],
                "region": region,
                "language": LANGUAGE_OF[region],
                "queue": f"{area.lower()}-tier2",
                "escalation_reason": rng.choices(REASONS, REASON_WEIGHTS)[0],
                "reporter_type": rng.choices(REPORTERS, REPORTER_WEIGHTS)[0],
                "severity": rng.randint(1, 4),
                "text_excerpt": self._text(),
                **({"suggested_clause_id": clause} if rng.random() < 0.6 else {}),
            }
        ]
        if rng.random() >= self.p.decision_share:
            return events
        decided = created + timedelta(seconds=rng.lognormvariate(8.0, 1.2))
        action = rng.choices(ACTIONS, ACTION_WEIGHTS)[0]
        applied = clause if rng.random() < 0.8 else rng.choice(clauses)
        dec_id = f"dec-{esc_id}"
        events.append(
            {
                "event_id": self._id(),
                "event_type": "decision.made",
                "schema_version": 1,
                "occurred_at": decided.isoformat().replace("+00:00", "Z"),
                "source": "loadgen",
                "escalation_id": esc_id,
                "decision_id": dec_id,
                "moderator_id": f"m-{rng.randint(1, 400)}",
                "tier": "escalation",
                "action": action,
                **({"clause_id": applied} if action != "no_violation" else {}),
            }
        )
        if rng.random() < self.p.appeal_share:
            resolved = decided + timedelta(hours=rng.uniform(2, 96))
            events.append(
                {
                    "event_id": self._id(),
                    "event_type": "appeal.resolved",
                    "schema_version": 1,
                    "occurred_at": resolved.isoformat().replace("+00:00", "Z"),
                    "source": "loadgen",
                    "escalation_id": esc_id,
                    "appeal_id": f"ap-{esc_id}",
                    "decision_id": dec_id,
                    "outcome": rng.choices(
                        ("upheld", "overturned", "partially_overturned"), (0.7, 0.22, 0.08)
                    )[0],
                }
            )
        if rng.random() < self.p.qa_share:
            agrees = rng.random() < 0.85
            events.append(
                {
                    "event_id": self._id(),
                    "event_type": "qa.reviewed",
                    "schema_version": 1,
                    "occurred_at": (decided + timedelta(hours=rng.uniform(1, 48)))
                    .isoformat()
                    .replace("+00:00", "Z"),
                    "source": "loadgen",
                    "escalation_id": esc_id,
                    "decision_id": dec_id,
                    "reviewer_id": f"qa-{rng.randint(1, 40)}",
                    "agrees": agrees,
                    **({} if agrees else {"correct_clause_id": rng.choice(clauses)}),
                }
            )
        return events

    def events(self, n_escalations: int) -> Iterator[dict[str, Any]]:
        for _ in range(n_escalations):
            yield from self.escalation_events()
