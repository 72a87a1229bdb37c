"""The metrics of DOMAIN.md, each defined once: what it counts and from which rollup counters.

Rollups hold numerators and denominators, never rates, so any grouping of buckets and
dimensions sums exactly before it divides. Decisions, appeals and QA reviews count in the
bucket and dimensions of the escalation they belong to (its creation hour and its
dimensions), not in the hour they happened: an appeal resolved today changes the overturn
rate of the week the escalation was created.

Agreement in production (Cohen's kappa, moderator against QA reviewer) is not additive: it
needs each group's table of clause pairs, not summed counters. It is a metric of alert rules
only (``ALERT_METRICS``), read from ``calibration.production``; exercises' agreement
(Krippendorff's alpha, Fleiss' kappa) is in ``calibration``.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from pp_shared.contracts.events import AppealOutcome, EscalationReason


class Dimension(StrEnum):
    """What rollups are keyed by besides the time bucket, and what queries group and filter by."""

    AREA = "area"
    CLAUSE = "clause_id"
    REGION = "region"
    LANGUAGE = "language"
    PRODUCT_FEATURE = "product_feature"
    QUEUE = "queue"
    ESCALATION_REASON = "escalation_reason"


DIMENSIONS: tuple[str, ...] = tuple(d.value for d in Dimension)
NO_QUEUE = ""
"""The ``queue`` dimension value of escalations that named no queue (a queue is never empty)."""

UNCLEAR_REASON = EscalationReason.POLICY_UNCLEAR.value
OVERTURNED_OUTCOMES: tuple[str, ...] = (
    AppealOutcome.OVERTURNED.value,
    AppealOutcome.PARTIALLY_OVERTURNED.value,
)


class RollupCounter(StrEnum):
    """The additive counters every rollup row holds for its escalations."""

    VOLUME = "volume"
    """Escalations created."""
    POLICY_UNCLEAR = "policy_unclear"
    """Escalations whose reason is ``policy_unclear``."""
    DECIDED = "decided"
    """Escalations with at least one decision."""
    APPEALS_RESOLVED = "appeals_resolved"
    """Appeals resolved (each appeal once, with its latest outcome)."""
    APPEALS_OVERTURNED = "appeals_overturned"
    """Of those, overturned or partially overturned."""
    QA_REVIEWS = "qa_reviews"
    """QA reviews of the escalation's decisions."""
    QA_DISAGREEMENTS = "qa_disagreements"
    """Of those, with ``agrees=false``."""
    TAG_AGREED = "tag_agreed"
    """Decided escalations whose top automatic tag is the clause of the final decision."""


@dataclass(frozen=True)
class LogHistogram:
    """Fixed log-spaced bins: bin 0 is ``[0, first)``, bin i is ``[edges[i-1], edges[i])``,
    the last bin is ``[edges[-1], inf)``. Negative values fall into bin 0.

    A quantile always lands in the bin that holds the exact (nearest-rank) value, so it is
    never off by more than one bin (x1.25). Interpolating geometrically inside the bin brings
    p50 and p90 within about 5% of the exact values once a group holds some thousand
    decisions; smaller groups are answered with their count so readers can judge. Changing
    the bins needs a rebuild of the rollups.
    """

    first: float = 1.0
    ratio: float = 1.25
    edge_count: int = 68
    edges: tuple[float, ...] = field(init=False)

    def __post_init__(self) -> None:
        edges = tuple(self.first * self.ratio**k for k in range(self.edge_count))
        object.__setattr__(self, "edges", edges)

    @property
    def bins(self) -> int:
        return self.edge_count + 1

    def bin_of(self, value: float) -> int:
        """The bin of ``value``; agrees with SQL ``width_bucket(value, edges)``."""
        return bisect_right(self.edges, value)

    def quantile(self, counts: Sequence[int], q: float) -> float | None:
        """The ``q`` quantile of the values counted in ``counts``; None when there are none.

        The rank is ``q * n`` as in Prometheus' ``histogram_quantile``; the open last bin
        answers its lower edge, a lower bound.
        """
        total = sum(counts)
        if total == 0:
            return None
        rank = q * total
        below = 0
        for i, count in enumerate(counts):
            if count and below + count >= rank:
                fraction = (rank - below) / count
                if i == 0:
                    return self.first * fraction
                if i == len(counts) - 1:
                    return self.edges[-1]
                low, high = self.edges[i - 1], self.edges[i]
                return low * math.pow(high / low, fraction)
            below += count
        return self.edges[-1]


LATENCY_HISTOGRAM = LogHistogram()
"""Decision latency in seconds: 1.25x bins from 1 s to about 37 days."""


class Kind(StrEnum):
    COUNT = "count"
    RATE = "rate"
    QUANTILES = "quantiles"
    AGREEMENT = "agreement"


@dataclass(frozen=True)
class CountMetric:
    name: str
    description: str
    counter: RollupCounter
    unit: str = "escalations"
    kind: Kind = Kind.COUNT

    @property
    def counters(self) -> tuple[RollupCounter, ...]:
        """The rollup counters it sums."""
        return (self.counter,)


@dataclass(frozen=True)
class RateMetric:
    """``numerator / denominator`` over the summed rollup rows, with a 95% Wilson interval."""

    name: str
    description: str
    numerator: RollupCounter
    denominator: RollupCounter
    unit: str = "ratio"
    kind: Kind = Kind.RATE

    @property
    def counters(self) -> tuple[RollupCounter, ...]:
        """The rollup counters it sums: numerator, then denominator."""
        return (self.numerator, self.denominator)


@dataclass(frozen=True)
class QuantileMetric:
    """Quantiles of a histogram summed over rollup rows; its sample size is the histogram total."""

    name: str
    description: str
    histogram: LogHistogram
    source: str
    """The rollup column holding the histogram's bin counts."""
    sample: RollupCounter
    """The counter equal to the histogram's total: the sample size."""
    quantiles: tuple[float, ...] = (0.5, 0.9)
    unit: str = "seconds"
    kind: Kind = Kind.QUANTILES


def quantile_name(q: float) -> str:
    """How answers name a quantile: ``p50`` for 0.5."""
    return f"p{round(q * 100)}"


Metric = CountMetric | RateMetric | QuantileMetric

METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        CountMetric(
            name="volume",
            description="Escalations created.",
            counter=RollupCounter.VOLUME,
        ),
        RateMetric(
            name="policy_unclear_share",
            description="Escalations with reason policy_unclear / all escalations.",
            numerator=RollupCounter.POLICY_UNCLEAR,
            denominator=RollupCounter.VOLUME,
        ),
        RateMetric(
            name="overturn_rate",
            description="Appeals overturned (incl. partially) / appeals resolved.",
            numerator=RollupCounter.APPEALS_OVERTURNED,
            denominator=RollupCounter.APPEALS_RESOLVED,
        ),
        RateMetric(
            name="qa_disagreement_rate",
            description="QA reviews with agrees=false / QA reviews.",
            numerator=RollupCounter.QA_DISAGREEMENTS,
            denominator=RollupCounter.QA_REVIEWS,
        ),
        QuantileMetric(
            name="decision_latency",
            description="First decision time minus escalation time: p50 and p90.",
            histogram=LATENCY_HISTOGRAM,
            source="latency_hist",
            sample=RollupCounter.DECIDED,
        ),
        RateMetric(
            name="tagging_agreement",
            description=(
                "Decided escalations whose top automatic clause tag equals the clause of the"
                " final decision / decided escalations."
            ),
            numerator=RollupCounter.TAG_AGREED,
            denominator=RollupCounter.DECIDED,
        ),
    )
}


@dataclass(frozen=True)
class AgreementMetric:
    """Cohen's kappa of the moderator's clause against the QA reviewer's over the reviews
    paired in a window (``calibration.production``); its sample is the number of pairs."""

    name: str
    description: str
    unit: str = "kappa"
    kind: Kind = Kind.AGREEMENT


PRODUCTION_KAPPA = AgreementMetric(
    name="production_kappa",
    description=(
        "Cohen's kappa, moderator's clause against the QA reviewer's, over the paired QA"
        " reviews of the window; sample: the pairs."
    ),
)

AlertMetric = Metric | AgreementMetric

ALERT_METRICS: dict[str, AlertMetric] = {**METRICS, PRODUCTION_KAPPA.name: PRODUCTION_KAPPA}
"""What an alert rule may watch: every metric, and agreement in production."""
