"""A draft taxonomy against stored escalations: re-tag the texts of a window with the draft's
rules and the current model, beside the current rules and the same model, and count what
would change. Nothing is stored, nothing is published.

Both sides run the same model on the same texts (its predictions are made once and shared),
so every difference comes from the draft: a model retrained since an escalation was tagged
moves nothing here. Escalations whose clause the upstream tool declared keep it whatever the
rules say; they are counted and left out.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg
from pydantic import BaseModel, ConfigDict, Field

from pp_classifier.tagging.layers import LayeredTagger
from pp_classifier.tagging.restricted import RestrictedTerms
from pp_classifier.tagging.rules import RuleTagger
from pp_classifier.tagging.text import normalise
from pp_classifier.taxonomy import repository
from pp_classifier.taxonomy.document import Taxonomy
from pp_shared.contracts.events import UNCLASSIFIED, area_of

CHUNK = 2000
"""Texts tagged per worker-thread call; progress is reported after each."""

Progress = Callable[[int, int], Awaitable[None]]
"""Told the escalations re-tagged so far and the number to re-tag."""


class ClauseShift(BaseModel):
    """One clause: escalations whose top clause it is now and would be under the draft."""

    clause_id: str
    area: str
    current: int
    draft: int
    gained: int = Field(description="Escalations whose top clause would become this one.")
    lost: int = Field(description="Escalations whose top clause would no longer be this one.")


class Move(BaseModel):
    """Escalations whose top clause would move from one clause to another."""

    from_clause: str
    to_clause: str
    count: int
    examples: list[str] = Field(description="Escalation ids, in id order.")


class SimulationResult(BaseModel):
    """What a draft would change, per clause and per move; counts are of the escalations
    examined (a sample when ``sampled``)."""

    model_config = ConfigDict(populate_by_name=True)

    draft_version: str
    current_version: str
    model_version: str
    start: datetime = Field(alias="from")
    end: datetime = Field(alias="to")
    stored: int = Field(description="Escalation texts stored in the window.")
    sampled: bool = Field(description="True when only a sample of the stored texts was read.")
    declared: int = Field(description="Of those read, escalations with a declared clause: kept.")
    examined: int = Field(description="Escalations re-tagged.")
    changed: int = Field(description="Of those, escalations whose top clause would change.")
    unclassified_current: int
    unclassified_draft: int
    unclassified_share_current: float | None
    unclassified_share_draft: float | None
    clauses: list[ClauseShift] = Field(description="Clauses that gain or lose, most moved first.")
    moves: list[Move] = Field(description="From/to pairs, largest first.")
    seconds: float


def _top_clauses(
    texts: Sequence[str], current: LayeredTagger, draft: LayeredTagger
) -> list[tuple[str, str]]:
    normalised = [normalise(text) for text in texts]
    predictions = current.model_predictions(texts, normalised)
    now = current.tag_normalised(normalised, predictions)
    then = draft.tag_normalised(normalised, predictions)
    return [(a[0].clause_id, b[0].clause_id) for a, b in zip(now, then, strict=True)]


def draft_tagger(
    draft: Taxonomy, current: LayeredTagger, restricted: RestrictedTerms | None = None
) -> LayeredTagger:
    """The draft's rules (with the deployment's restricted terms) and the current model; the
    model's clauses the draft lacks drop."""
    rules = RuleTagger.from_taxonomy(draft, restricted_terms=restricted)
    return LayeredTagger(rules, current.model, clauses=draft.clause_ids())


@dataclass(frozen=True)
class Run:
    """One simulation: the draft, the layers it is compared with, the window of stored texts
    ``[start, end)``, the sample size and the examples kept per move."""

    draft: Taxonomy
    current: LayeredTagger
    start: datetime
    end: datetime
    max_texts: int
    examples: int
    restricted: RestrictedTerms | None = None


async def simulate(
    pool: asyncpg.Pool, run: Run, *, progress: Progress | None = None
) -> SimulationResult:
    """Re-tag the escalations of the window (at most ``max_texts``, sampled) with the draft
    and with the current layers, and count the differences."""
    began = time.perf_counter()
    async with pool.acquire() as conn:
        stored, rows = await repository.texts_in_window(
            conn, start=run.start, end=run.end, limit=run.max_texts
        )
    kept = [r for r in rows if not r["declared"]]
    current = run.current
    tagger = await asyncio.to_thread(draft_tagger, run.draft, current, run.restricted)
    before: Counter[str] = Counter()
    after: Counter[str] = Counter()
    moves: dict[tuple[str, str], list[str]] = {}
    for offset in range(0, len(kept), CHUNK):
        chunk = kept[offset : offset + CHUNK]
        tops = await asyncio.to_thread(_top_clauses, [r["text"] for r in chunk], current, tagger)
        for row, (now, then) in zip(chunk, tops, strict=True):
            before[now] += 1
            after[then] += 1
            if now != then:
                moves.setdefault((now, then), []).append(row["escalation_id"])
        if progress is not None:
            await progress(min(offset + CHUNK, len(kept)), len(kept))
    return _result(
        draft=run.draft,
        current=current,
        window=(run.start, run.end),
        counts=(stored, len(rows), len(rows) - len(kept)),
        before=before,
        after=after,
        moves=moves,
        examples=run.examples,
        seconds=time.perf_counter() - began,
    )


def _result(
    *,
    draft: Taxonomy,
    current: LayeredTagger,
    window: tuple[datetime, datetime],
    counts: tuple[int, int, int],
    before: Counter[str],
    after: Counter[str],
    moves: dict[tuple[str, str], list[str]],
    examples: int,
    seconds: float,
) -> SimulationResult:
    stored, read, declared = counts
    examined = read - declared
    gained: Counter[str] = Counter()
    lost: Counter[str] = Counter()
    for (old, new), ids in moves.items():
        lost[old] += len(ids)
        gained[new] += len(ids)
    shifts = [
        ClauseShift(
            clause_id=c,
            area=area_of(c),
            current=before[c],
            draft=after[c],
            gained=gained[c],
            lost=lost[c],
        )
        for c in sorted(set(gained) | set(lost))
    ]
    shifts.sort(key=lambda s: (-(s.gained + s.lost), s.clause_id))
    ordered = sorted(moves.items(), key=lambda item: (-len(item[1]), item[0]))
    return SimulationResult(
        draft_version=draft.version,
        current_version=current.taxonomy_version,
        model_version=current.model_version,
        start=window[0],
        end=window[1],
        stored=stored,
        sampled=read < stored,
        declared=declared,
        examined=examined,
        changed=sum(len(ids) for ids in moves.values()),
        unclassified_current=before[UNCLASSIFIED],
        unclassified_draft=after[UNCLASSIFIED],
        unclassified_share_current=_share(before[UNCLASSIFIED], examined),
        unclassified_share_draft=_share(after[UNCLASSIFIED], examined),
        clauses=shifts,
        moves=[
            Move(from_clause=a, to_clause=b, count=len(ids), examples=sorted(ids)[:examples])
            for (a, b), ids in ordered
        ],
        seconds=round(seconds, 3),
    )


def _share(count: int, total: int) -> float | None:
    return round(count / total, 6) if total else None
