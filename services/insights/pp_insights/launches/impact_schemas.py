"""The answer of ``GET /v1/launches/{id}/impact``: before/after, difference-in-differences,
interrupted time series, a verdict and warnings; every number also as CSV rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pp_insights.launches.schemas import LaunchView


class Window(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    start: datetime = Field(alias="from")
    end: datetime = Field(alias="to")
    buckets: int


class Period(BaseModel):
    """One scope in one window: a rate's numerator, denominator and 95% Wilson interval; a
    count's total and its mean per bucket with an exact Poisson interval; latency's p50 and
    p90 (no interval)."""

    value: float | None = Field(description="Rate; count per bucket; latency p50 (seconds).")
    ci_low: float | None = None
    ci_high: float | None = None
    numerator: int | None = None
    denominator: int | None = None
    total: int | None = Field(default=None, description="Counts: escalations in the window.")
    p90: float | None = None
    sample: int = Field(description="The rate's denominator, the count, or decisions timed.")


class BeforeAfter(BaseModel):
    before: Period
    after: Period
    change: float | None = Field(description="after - before, in the metric's unit.")
    p_value: float | None = Field(
        description="Two-proportion z-test (rates) or Poisson score test (counts)."
    )


class Comparison(BaseModel):
    treated: BeforeAfter
    control: BeforeAfter | None


class EstimateOut(BaseModel):
    effect: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    significant: bool | None
    errors: str | None = Field(description="newey-west or classical: the larger was used.")


class DidOut(EstimateOut):
    """The change of the gap between the scope and its control at the launch."""

    treated_change: float | None
    control_change: float | None
    control_scale: float | None = Field(
        description="Counts: the control scaled by the scopes' ratio before the launch."
    )
    buckets: int


class ItsOut(EstimateOut):
    """The scope's own series: ``effect`` is the level change at the launch."""

    slope_change: EstimateOut
    buckets_before: int
    buckets_after: int
    maxlags: int | None


class Call(BaseModel):
    """The launch's call: the estimate the verdict leads with and whether it is significant
    at 95%. The difference-in-differences when there is one (it separates the launch from
    what moved everywhere), else the time series' level change; neither: no call."""

    estimate: Literal["did", "its"] | None
    significant: bool | None

    @staticmethod
    def of(did: EstimateOut, its: EstimateOut) -> Call:
        if did.effect is not None:
            return Call(estimate="did", significant=did.significant)
        if its.effect is not None:
            return Call(estimate="its", significant=its.significant)
        return Call(estimate=None, significant=None)


class ControlOut(BaseModel):
    named: bool = Field(description="True when the caller named it, else the default.")
    filters: dict[str, list[str]] = Field(description="Dimensions it keeps.")
    excluded: dict[str, list[str]] = Field(description="Dimensions it leaves out.")


class SeriesRow(BaseModel):
    group: str
    bucket: datetime
    t: float
    value: float | None
    numerator: int | None = None
    denominator: int | None = None


class ImpactAnswer(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    launch: LaunchView
    metric: str
    kind: str
    unit: str
    interval: str
    before: Window
    after: Window
    transition_days: int
    scope: dict[str, list[str]]
    control: ControlOut | None
    before_after: Comparison
    did: DidOut
    its: ItsOut
    call: Call
    verdict: str
    warnings: list[str]
    series: list[SeriesRow]

    def csv_rows(self) -> list[dict[str, Any]]:
        """Every number as one row of section, group, period and statistic."""
        rows: list[dict[str, Any]] = []
        groups = [("treated", self.before_after.treated), ("control", self.before_after.control)]
        for group, ba in groups:
            if ba is None:
                continue
            for period, window, p in (
                ("before", self.before, ba.before),
                ("after", self.after, ba.after),
            ):
                rows.append(
                    {"section": "before_after", "group": group, "period": period,
                     "statistic": "value", "value": p.value, "ci_low": p.ci_low,
                     "ci_high": p.ci_high, "numerator": p.numerator,
                     "denominator": p.denominator, "sample": p.sample,
                     "from": window.start, "to": window.end}
                )  # fmt: skip
            rows.append(
                {"section": "before_after", "group": group, "period": "change",
                 "statistic": "change", "value": ba.change, "p_value": ba.p_value}
            )  # fmt: skip
        for section, statistic, e in (
            ("did", "effect", self.did),
            ("its", "level_change", self.its),
            ("its", "slope_change", self.its.slope_change),
        ):
            rows.append(
                {"section": section, "statistic": statistic, "value": e.effect,
                 "ci_low": e.ci_low, "ci_high": e.ci_high, "p_value": e.p_value}
            )  # fmt: skip
        for s in self.series:
            rows.append(
                {"section": "series", "group": s.group, "period": s.bucket,
                 "statistic": "value", "value": s.value, "numerator": s.numerator,
                 "denominator": s.denominator}
            )  # fmt: skip
        rows.append(
            {"section": "call", "group": self.call.estimate, "statistic": "significant",
             "value": self.call.significant}
        )  # fmt: skip
        rows.append({"section": "verdict", "statistic": "verdict", "value": self.verdict})
        rows += [{"section": "warning", "statistic": "warning", "value": w} for w in self.warnings]
        return rows


CSV_COLUMNS = [
    "section", "group", "period", "statistic", "value", "ci_low", "ci_high", "p_value",
    "numerator", "denominator", "sample", "from", "to",
]  # fmt: skip
