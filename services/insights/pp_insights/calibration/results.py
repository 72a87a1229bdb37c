"""An exercise's results from its cases, moderators and answers: agreement overall and per
clause, accuracy per moderator and cohort, confusions, disputed cases, and the comparison of
two exercises on one golden set. Pure functions over the answers; the statistics are
``stats``'s."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from pp_insights.calibration import stats
from pp_insights.calibration.answers import (
    Accuracy,
    ClauseRow,
    CohortRow,
    ComparisonRow,
    ConfusionRow,
    DisputedCase,
    ModeratorRow,
)
from pp_insights.calibration.schemas import COHORT_ATTRIBUTES, MIN_COHORT


@dataclass(frozen=True)
class Case:
    case_id: str
    expected: str | None
    text: str | None = None
    content_ref: str | None = None


@dataclass(frozen=True)
class Design:
    """What an exercise's results are computed from."""

    cases: Sequence[Case]
    attributes: Mapping[str, Mapping[str, str | None]]
    """Each moderator's cohort attributes (region, language, tier, vendor_site)."""
    answers: Sequence[tuple[str, str, str]]
    """(moderator, case, clause) of every answer, one per moderator and case."""


class Matrix:
    """The answers as counts per case and label, and the expected answers as label indices."""

    def __init__(self, design: Design, labels: Sequence[str] | None = None) -> None:
        self.cases = list(design.cases)
        found = {a for _, _, a in design.answers} | {c.expected for c in self.cases if c.expected}
        self.labels = sorted(found | set(labels or ()))
        self.label_index = {label: i for i, label in enumerate(self.labels)}
        self.case_index = {c.case_id: i for i, c in enumerate(self.cases)}
        self.expected = np.array(
            [self.label_index[c.expected] if c.expected else -1 for c in self.cases], dtype=np.int64
        )
        self.counts = self.of(design.answers)

    def of(self, answers: Iterable[tuple[str, str, str]]) -> stats.Counts:
        counts = np.zeros((len(self.cases), len(self.labels)), dtype=np.int64)
        for _, case, clause in answers:
            counts[self.case_index[case], self.label_index[clause]] += 1
        return counts


def accuracy(correct: int, judged: int) -> Accuracy:
    interval = stats.wilson(correct, judged)
    return Accuracy(
        correct=correct,
        judged=judged,
        value=correct / judged if judged else None,
        low=interval.low if interval else None,
        high=interval.high if interval else None,
    )


def pooled_accuracy(matrix: Matrix, counts: stats.Counts) -> Accuracy:
    judged_cases = matrix.expected >= 0
    correct = int(counts[judged_cases, matrix.expected[judged_cases]].sum())
    return accuracy(correct, int(counts[judged_cases].sum()))


def clause_rows(matrix: Matrix) -> list[ClauseRow]:
    """Agreement and accuracy by each expected answer, then by each chosen one."""
    counts = matrix.counts
    rows: list[ClauseRow] = []
    for v, label in enumerate(matrix.labels):
        subset = counts[matrix.expected == v]
        if subset.shape[0]:
            acc = accuracy(int(subset[:, v].sum()), int(subset.sum()))
            rows.append(_clause_row("expected", label, subset, acc))
    judged_cases = matrix.expected >= 0
    for v, label in enumerate(matrix.labels):
        chosen = counts[:, v]
        if not chosen.any():
            continue
        binary = np.stack([chosen, counts.sum(axis=1) - chosen], axis=1)
        acc = accuracy(
            int(chosen[judged_cases & (matrix.expected == v)].sum()),
            int(chosen[judged_cases].sum()),
        )
        rows.append(_clause_row("chosen", label, binary, acc, responses=int(chosen.sum())))
    return rows


def _clause_row(
    by: str, label: str, counts: stats.Counts, acc: Accuracy, *, responses: int | None = None
) -> ClauseRow:
    interval = stats.bootstrap_alpha(counts)
    return ClauseRow(
        by=by,  # type: ignore[arg-type]
        clause_id=label,
        cases=int(np.count_nonzero(counts.sum(axis=1))),
        responses=int(counts.sum()) if responses is None else responses,
        krippendorff_alpha=stats.alpha(counts),
        alpha_low=interval.low if interval else None,
        alpha_high=interval.high if interval else None,
        fleiss_kappa=stats.fleiss_kappa(counts),
        percent_agreement=stats.percent_agreement(counts),
        correct=acc.correct,
        judged=acc.judged,
        accuracy=acc.value,
        accuracy_low=acc.low,
        accuracy_high=acc.high,
    )


def by_moderator(design: Design) -> dict[str, list[tuple[str, str, str]]]:
    answers: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for answer in design.answers:
        answers[answer[0]].append(answer)
    return answers


def confusion(matrix: Matrix, answers: Iterable[tuple[str, str, str]]) -> Counter[tuple[str, str]]:
    """(expected, chosen) of answers to cases with an expected answer."""
    pairs: Counter[tuple[str, str]] = Counter()
    for _, case, clause in answers:
        expected = matrix.cases[matrix.case_index[case]].expected
        if expected:
            pairs[(expected, clause)] += 1
    return pairs


def confusion_rows(scope: str, pairs: Counter[tuple[str, str]]) -> list[ConfusionRow]:
    return [
        ConfusionRow(scope=scope, expected_clause_id=e, chosen_clause_id=c, count=n)
        for (e, c), n in sorted(pairs.items())
    ]


def moderator_rows(design: Design, matrix: Matrix) -> list[ModeratorRow]:
    rows = []
    for moderator, answers in sorted(by_moderator(design).items()):
        pairs = confusion(matrix, answers)
        wrong = sorted((-n, e, c) for (e, c), n in pairs.items() if e != c)
        worst = wrong[0] if wrong else None
        acc = accuracy(sum(n for (e, c), n in pairs.items() if e == c), sum(pairs.values()))
        attributes = design.attributes.get(moderator, {})
        rows.append(
            ModeratorRow(
                moderator_id=moderator,
                **{a: attributes.get(a) for a in COHORT_ATTRIBUTES},
                responses=len(answers),
                correct=acc.correct,
                judged=acc.judged,
                accuracy=acc.value,
                accuracy_low=acc.low,
                accuracy_high=acc.high,
                most_confused=f"{worst[1]} > {worst[2]}" if worst else None,
            )
        )
    return rows


def cohorts(design: Design) -> dict[tuple[str, str], list[str]]:
    """The moderators who answered, per (attribute, value) of their cohort attributes."""
    members: dict[tuple[str, str], list[str]] = defaultdict(list)
    for moderator in sorted(by_moderator(design)):
        attributes = design.attributes.get(moderator, {})
        for attribute in COHORT_ATTRIBUTES:
            value = attributes.get(attribute)
            if value:
                members[(attribute, value)].append(moderator)
    return members


def cohort_rows(design: Design, matrix: Matrix) -> tuple[list[CohortRow], list[ConfusionRow], int]:
    """Cohorts of at least :data:`MIN_COHORT` moderators with their confusions, and how many
    smaller cohorts were left out."""
    answers = by_moderator(design)
    rows, confusions, withheld = [], [], 0
    for (attribute, value), members in sorted(cohorts(design).items()):
        if len(members) < MIN_COHORT:
            withheld += 1
            continue
        theirs = [a for m in members for a in answers[m]]
        counts = matrix.of(theirs)
        acc = pooled_accuracy(matrix, counts)
        rows.append(
            CohortRow(
                attribute=attribute,
                value=value,
                moderators=len(members),
                responses=len(theirs),
                krippendorff_alpha=stats.alpha(counts),
                correct=acc.correct,
                judged=acc.judged,
                accuracy=acc.value,
                accuracy_low=acc.low,
                accuracy_high=acc.high,
            )
        )
        confusions += confusion_rows(f"{attribute}={value}", confusion(matrix, theirs))
    return rows, confusions, withheld


def disputed(matrix: Matrix, *, limit: int) -> list[DisputedCase]:
    """The cases with the most disagreement (1 - the share of agreeing pairs), most first."""
    counts = matrix.counts
    answers = counts.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        agreement = (counts * (counts - 1)).sum(axis=1) / (answers * (answers - 1))
    order = sorted(
        (i for i in range(len(matrix.cases)) if answers[i] >= 2),
        key=lambda i: (agreement[i], -answers[i], matrix.cases[i].case_id),
    )
    out = []
    for i in order[:limit]:
        if agreement[i] >= 1:
            break
        row = counts[i]
        top = int(np.argmax(row))
        case = matrix.cases[i]
        out.append(
            DisputedCase(
                case_id=case.case_id,
                expected_clause_id=case.expected,
                text=case.text,
                content_ref=case.content_ref,
                responses=int(answers[i]),
                disagreement=float(1 - agreement[i]),
                majority_clause_id=matrix.labels[top],
                majority_share=float(row[top] / answers[i]),
                distribution={
                    matrix.labels[v]: int(n)
                    for v, n in sorted(enumerate(row), key=lambda x: (-x[1], x[0]))
                    if n
                },
            )
        )
    return out


def compare(baseline: Design, current: Design) -> list[ComparisonRow]:
    """Alpha and accuracy of two exercises over the same golden set, overall, by expected
    answer and by cohort (of at least :data:`MIN_COHORT` moderators in both)."""
    before = Matrix(baseline)
    after = Matrix(current, labels=before.labels)
    before = Matrix(baseline, labels=after.labels)
    rows = [_change("overall", before, after, before.counts, after.counts)]
    for v, label in enumerate(after.labels):
        picked = after.expected == v
        if picked.any():
            rows.append(
                _change(
                    f"expected={label}",
                    before,
                    after,
                    before.counts[picked],
                    after.counts[picked],
                    expected=v,
                )
            )
    cohorts_before, cohorts_after = cohorts(baseline), cohorts(current)
    answers_before, answers_after = by_moderator(baseline), by_moderator(current)
    for key in sorted(set(cohorts_before) & set(cohorts_after)):
        if min(len(cohorts_before[key]), len(cohorts_after[key])) < MIN_COHORT:
            continue
        b = before.of(a for m in cohorts_before[key] for a in answers_before[m])
        c = after.of(a for m in cohorts_after[key] for a in answers_after[m])
        rows.append(_change(f"{key[0]}={key[1]}", before, after, b, c))
    return rows


def _change(
    scope: str,
    before: Matrix,
    after: Matrix,
    counts_before: stats.Counts,
    counts_after: stats.Counts,
    *,
    expected: int | None = None,
) -> ComparisonRow:
    alpha_before, alpha_after = stats.alpha(counts_before), stats.alpha(counts_after)
    interval = stats.paired_bootstrap_change(counts_before, counts_after)
    if expected is None:
        acc_before = _judged(before, counts_before)
        acc_after = _judged(after, counts_after)
    else:
        acc_before = (int(counts_before[:, expected].sum()), int(counts_before.sum()))
        acc_after = (int(counts_after[:, expected].sum()), int(counts_after.sum()))
    change = stats.proportion_change(acc_before, acc_after)
    return ComparisonRow(
        scope=scope,
        alpha_before=alpha_before,
        alpha_after=alpha_after,
        alpha_change=(
            alpha_after - alpha_before
            if alpha_before is not None and alpha_after is not None
            else None
        ),
        alpha_change_low=interval.low if interval else None,
        alpha_change_high=interval.high if interval else None,
        accuracy_before=acc_before[0] / acc_before[1] if acc_before[1] else None,
        judged_before=acc_before[1],
        accuracy_after=acc_after[0] / acc_after[1] if acc_after[1] else None,
        judged_after=acc_after[1],
        accuracy_change=change[0] if change else None,
        accuracy_change_low=change[1].low if change else None,
        accuracy_change_high=change[1].high if change else None,
    )


def _judged(matrix: Matrix, counts: stats.Counts) -> tuple[int, int]:
    acc = pooled_accuracy(matrix, counts)
    return acc.correct, acc.judged
