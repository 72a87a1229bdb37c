"""The impact in words, and what to be wary of. A verdict states what was measured and how
sure it is, never more: "fell", "rose" only with an interval that excludes no change, and
"no change distinguishable from noise" with the sample size otherwise."""

from __future__ import annotations

from collections.abc import Sequence

from pp_insights.launches.estimators import ALPHA
from pp_insights.launches.impact import Windows
from pp_insights.launches.impact_schemas import BeforeAfter, EstimateOut, ImpactAnswer
from pp_insights.launches.tables import Launch

MIN_WINDOW_DAYS = 14
"""Fewer days on a side than this gets a warning: a week's pattern cannot average out."""
MIN_SAMPLE = 30
"""An after window with a smaller sample gets a warning."""

SAMPLE_NOUNS = {
    "volume": "escalations",
    "policy_unclear_share": "escalations",
    "overturn_rate": "appeals",
    "qa_disagreement_rate": "QA reviews",
    "tagging_agreement": "decided escalations",
    "decision_latency": "decided escalations",
}
LABELS = {
    "volume": "volume",
    "policy_unclear_share": "policy-unclear share",
    "overturn_rate": "overturn rate",
    "qa_disagreement_rate": "QA disagreement rate",
    "tagging_agreement": "tagging agreement",
    "decision_latency": "median decision latency",
}


def _amount(kind: str, value: float, interval: str) -> str:
    """A change's size in words: points for rates, escalations per bucket, seconds."""
    size = _signed(kind, abs(value)).lstrip("+")
    unit = {"rate": "points", "count": f"escalations per {interval}"}.get(kind, "s")
    return f"{size} {unit}"


def _signed(kind: str, value: float) -> str:
    """A value with its sign: rates in points, counts to a tenth, seconds whole."""
    if kind == "rate":
        return f"{value * 100:+.1f}"
    return f"{value:+.1f}" if kind == "count" else f"{value:+.0f}"


def _interval(kind: str, e: EstimateOut, interval: str) -> str:
    assert e.ci_low is not None
    assert e.ci_high is not None
    assert e.p_value is not None
    return f"95% CI {_signed(kind, e.ci_low)} to {_signed(kind, e.ci_high)}, p={e.p_value:.3g}"


def _direction(value: float) -> str:
    return "rose" if value > 0 else "fell"


def _moved(kind: str, change: float | None, interval: str) -> str:
    if change is None:
        return "could not be measured"
    if change == 0:
        return "did not move"
    return f"{_direction(change)} {_amount(kind, change, interval)}"


def verdict(answer: ImpactAnswer) -> str:
    """One or two sentences on the impact, as sure as the estimates are and no surer."""
    kind, interval = answer.kind, answer.interval
    label = LABELS.get(answer.metric, answer.metric)
    treated = answer.before_after.treated
    sample = f"n={treated.after.sample} {SAMPLE_NOUNS.get(answer.metric, 'escalations')}"
    did, its = answer.did, answer.its
    lead = did if answer.call.estimate == "did" else its
    method = "difference-in-differences" if lead is did else "level change at the launch"
    if lead.effect is None:
        return (
            f"No estimate: too few buckets with a sample around the launch ({sample} after"
            f" it). Before/after alone: the {label} {_moved(kind, treated.change, interval)}."
        )
    assert lead.significant is not None
    if not lead.significant:
        text = (
            f"No change distinguishable from noise: {sample} after the launch ({method}"
            f" {_signed(kind, lead.effect)}, {_interval(kind, lead, interval)})."
        )
    elif lead is did:
        control = answer.before_after.control
        text = (
            f"The {label} {_moved(kind, treated.change, interval)} in the launch's scope against"
            f" a change of {_signed(kind, did.control_change or 0.0)} in the control:"
            f" a difference of {_signed(kind, lead.effect)}"
            f" ({_interval(kind, lead, interval)}; {sample} after the launch"
            f"{_control_sample(control)})."
        )
    else:
        text = (
            f"The {label} {_direction(lead.effect)} by {_amount(kind, lead.effect, interval)} at"
            f" the launch against its own trend ({_interval(kind, lead, interval)}; {sample}"
            " after the launch); no control to compare with."
        )
    if (
        lead is did
        and its.effect is not None
        and its.significant is not None
        and its.significant != lead.significant
    ):
        text += (
            f" The scope's own time series {'does' if its.significant else 'does not'} show"
            f" a level change at the launch ({_signed(kind, its.effect)},"
            f" {_interval(kind, its, interval)}): read the estimate with care."
        )
    return text


def _control_sample(control: BeforeAfter | None) -> str:
    return f", {control.after.sample} in the control" if control is not None else ""


def warnings(answer: ImpactAnswer, w: Windows, others: Sequence[Launch]) -> list[str]:
    """What could make the estimates mislead: short windows, a control that moved as much,
    other launches in the same windows and scope, small samples, a cut window."""
    out: list[str] = []
    days_before = (w.launch_day - w.before_start).days
    days_after = (w.after_end - w.first_after).days
    if min(days_before, days_after) < MIN_WINDOW_DAYS:
        out.append(
            f"short windows: {days_before} days before and {days_after} after the launch;"
            f" {MIN_WINDOW_DAYS} or more each side let weekly patterns average out"
        )
    if w.cut:
        out.append(f"the after window was cut at {w.after_end.date()}, the last whole bucket")
    treated, control = answer.before_after.treated, answer.before_after.control
    if treated.after.sample < MIN_SAMPLE:
        noun = SAMPLE_NOUNS.get(answer.metric, "escalations")
        out.append(f"small sample: n={treated.after.sample} {noun} after the launch")
    if answer.control is None:
        out.append("no control: the launch's scope restricts nothing, so nothing is outside it")
    elif control is not None and control.after.sample == 0:
        out.append("the control has no sample after the launch")
    tc, cc = treated.change, control.change if control is not None else None
    control_p = control.p_value if control is not None else None
    if (
        tc is not None
        and cc is not None
        and control_p is not None
        and control_p < ALPHA
        and tc * cc > 0
        and abs(cc) >= abs(tc) / 2
    ):
        out.append(
            f"the control moved too ({_signed(answer.kind, cc)} against"
            f" {_signed(answer.kind, tc)} in the scope): much of the scope's"
            " change is not specific to the launch"
        )
    for other in others:
        out.append(
            f"launch {other.id} ({other.title}, {other.launched_at.date()}) falls in these"
            " windows and overlaps this scope"
        )
    return out
