"""What an exercise shows: its results and tables, the answers of single moderators, and the
comparison with an earlier exercise; loaded through the records engine, computed by
``results`` off the event loop."""

from __future__ import annotations

import asyncio

from pp_insights.calibration import repository, stats
from pp_insights.calibration import results as compute
from pp_insights.calibration.answers import Comparison, ConfusionRow, ModeratorRow, Results
from pp_insights.calibration.service import exercise_of
from pp_insights.calibration.tables import Exercise
from pp_shared.problems import InvalidInput
from pp_shared.records import AsyncSession, Records


async def load_design(session: AsyncSession, exercise: Exercise) -> compute.Design:
    assert exercise.exercise_id is not None
    cases = await repository.golden_cases(session, exercise.golden_set_id)
    moderators = await repository.moderators(session, exercise.exercise_id)
    return compute.Design(
        cases=[compute.Case(c.case_id, c.expected_clause_id, c.text, c.content_ref) for c in cases],
        attributes={
            m.moderator_id: {
                "region": m.region,
                "language": m.language,
                "tier": m.tier,
                "vendor_site": m.vendor_site,
            }
            for m in moderators
        },
        answers=await repository.answers(session, exercise.exercise_id),
    )


async def _loaded(records: Records, exercise_id: int) -> tuple[Exercise, compute.Design]:
    async with records.reading() as session:
        exercise = await exercise_of(session, exercise_id)
        return exercise, await load_design(session, exercise)


async def results(records: Records, *, exercise_id: int, disputed: int, base: str) -> Results:
    """The exercise's results: agreement overall and per clause, accuracy, cohorts of at least
    five moderators, the most disputed cases and the pooled confusion table."""
    exercise, design = await _loaded(records, exercise_id)
    # The statistics take a CPU-bound moment: off the event loop.
    return await asyncio.to_thread(compute_results, exercise, design, disputed, base)


def compute_results(
    exercise: Exercise, design: compute.Design, disputed: int, base: str
) -> Results:
    assert exercise.exercise_id is not None
    matrix = compute.Matrix(design)
    counts = matrix.counts
    interval = stats.bootstrap_alpha(counts)
    cohort_rows, cohort_confusion, withheld = compute.cohort_rows(design, matrix)
    tables = ("clauses", "cohorts", "disputed", "confusion", "moderators", "moderators/confusion")
    return Results(
        exercise_id=exercise.exercise_id,
        name=exercise.name,
        golden_set_id=exercise.golden_set_id,
        state=exercise.state,
        krippendorff_alpha=stats.alpha(counts),
        alpha_interval=interval,
        fleiss_kappa=stats.fleiss_kappa(counts),
        balanced=stats.balanced(counts),
        percent_agreement=stats.percent_agreement(counts),
        responses=len(design.answers),
        moderators=len({m for m, _, _ in design.answers}),
        cases=int((counts.sum(axis=1) > 0).sum()),
        accuracy=compute.pooled_accuracy(matrix, counts),
        clauses=compute.clause_rows(matrix),
        cohorts=cohort_rows,
        cohorts_withheld=withheld,
        disputed_cases=compute.disputed(matrix, limit=disputed),
        confusion=compute.confusion_rows("all", compute.confusion(matrix, design.answers))
        + cohort_confusion,
        tables={t: f"{base}/{t}" for t in tables},
    )


async def moderator_results(
    records: Records, *, exercise_id: int
) -> tuple[list[ModeratorRow], list[ConfusionRow]]:
    """Every moderator's accuracy and confusion table: answers of individuals."""
    _, design = await _loaded(records, exercise_id)
    matrix = compute.Matrix(design)
    confusions = [
        row
        for moderator, answers in sorted(compute.by_moderator(design).items())
        for row in compute.confusion_rows(
            f"moderator={moderator}", compute.confusion(matrix, answers)
        )
    ]
    return compute.moderator_rows(design, matrix), confusions


async def comparison(records: Records, *, exercise_id: int, baseline_id: int) -> Comparison:
    """This exercise against a baseline on the same golden set: alpha and accuracy before and
    after, and their change with 95% intervals."""
    async with records.reading() as session:
        current = await exercise_of(session, exercise_id)
        baseline = await exercise_of(session, baseline_id)
        if baseline.golden_set_id != current.golden_set_id:
            raise InvalidInput(
                "the exercises ran different golden sets",
                errors=[{"pointer": "/query/baseline", "detail": "ran another golden set"}],
            )
        before, after = await load_design(session, baseline), await load_design(session, current)
    rows = await asyncio.to_thread(compute.compare, before, after)
    return Comparison(
        exercise_id=exercise_id,
        baseline_id=baseline_id,
        golden_set_id=current.golden_set_id,
        rows=rows,
    )
