"""The layers this replica tags with, the loop that improves the model, and the models the
API lists.

At start a replica loads the active model from Postgres, or, on a fresh install, trains the
seed model and stores it as active. Every replica then follows the database: a newly
published taxonomy rebuilds the rules, a newly promoted model replaces the model. One
replica at a time retrains (as a job, ``training/jobs.py``, under an advisory lock) when
enough decision labels arrived, the schedule says so, or the API asks; it evaluates the
candidate on the held-out texts and promotes it only when its macro-F1 is not worse than the
active model's. Training runs in a worker thread so the consumer and the API keep answering.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Literal

import asyncpg
from pydantic import BaseModel

from pp_classifier.metrics import MODEL_TRAININGS, TRAINING_SECONDS
from pp_classifier.settings import ClassifierSettings
from pp_classifier.tagging.layers import Layers, build_layers
from pp_classifier.tagging.restricted import RestrictedTerms, load_restricted_terms
from pp_classifier.tagging.restricted import describe as describe_restricted
from pp_classifier.tagging.rules import RuleTagger
from pp_classifier.taxonomy import service as taxonomy_service
from pp_classifier.taxonomy.document import Taxonomy
from pp_classifier.training import repository
from pp_classifier.training.candidates import (
    Candidate,
    DecisionLabel,
    Verdict,
    candidate_version,
    evaluation_json,
    judge,
    seed_candidate,
    train_on,
    training_params,
    training_set,
)
from pp_classifier.training.model import ClauseModel, ModelError
from pp_shared.contracts.events import NO_CLAUSE, DecisionMade, EscalationCreated, Event, QaReviewed
from pp_shared.problems import NotFound

log = logging.getLogger(__name__)


def storable(text: str) -> str:
    """A text Postgres accepts: ``text`` columns refuse NUL characters, which JSON allows."""
    return text.replace("\x00", "") if "\x00" in text else text


async def store_examples(conn: asyncpg.Connection, events: Sequence[Event]) -> None:
    """Keep what retraining learns from: the first text of each escalation, each decision's
    clause (``none`` for a decision that found no violation) as its label, and QA reviews,
    whose corrections take precedence over the decision's clause."""
    await repository.store_texts(
        conn,
        [
            (e.escalation_id, storable(e.text_excerpt), e.language)
            for e in events
            if isinstance(e, EscalationCreated) and e.text_excerpt and storable(e.text_excerpt)
        ],
    )
    await repository.store_labels(
        conn,
        [
            (e.escalation_id, e.clause_id or NO_CLAUSE, e.decision_id, e.occurred_at)
            for e in events
            if isinstance(e, DecisionMade)
        ],
    )
    await repository.store_qa_labels(
        conn,
        [
            (e.escalation_id, e.decision_id, e.agrees, e.correct_clause_id, e.occurred_at)
            for e in events
            if isinstance(e, QaReviewed)
        ],
    )


class ModelSummary(BaseModel):
    """A stored model and its evaluation on the held-out texts."""

    version: str
    taxonomy_version: str
    status: str
    reason: str
    training_texts: int
    decision_labels: int
    labels_through: datetime | None
    trained_at: datetime
    promoted_at: datetime | None
    labels: list[str]
    threshold: float
    evaluation: dict[str, object]


class RetrainResult(BaseModel):
    status: Literal["promoted", "rejected", "unchanged"]
    version: str | None
    reason: str


def _summary(row: asyncpg.Record) -> ModelSummary:
    meta = row["metadata"]
    return ModelSummary(
        version=row["version"],
        taxonomy_version=row["taxonomy_version"],
        status=row["status"],
        reason=row["reason"],
        training_texts=row["training_texts"],
        decision_labels=row["decision_labels"],
        labels_through=row["labels_through"],
        trained_at=row["trained_at"],
        promoted_at=row["promoted_at"],
        labels=list(meta["labels"]),
        threshold=float(meta["params"]["threshold"]),
        evaluation=row["evaluation"],
    )


async def list_models(pool: asyncpg.Pool) -> list[ModelSummary]:
    async with pool.acquire() as conn:
        return [_summary(r) for r in await repository.list_models(conn)]


async def get_model(pool: asyncpg.Pool, version: str) -> ModelSummary:
    async with pool.acquire() as conn:
        row = await repository.model_row(conn, version)
    if row is None:
        raise NotFound(f"no model version {version}")
    return _summary(row)


async def get_artifact(pool: asyncpg.Pool, version: str) -> bytes:
    async with pool.acquire() as conn:
        artifact = await repository.model_artifact(conn, version)
    if artifact is None:
        raise NotFound(f"no model version {version}")
    return bytes(artifact)


async def _unchanged(
    conn: asyncpg.Connection, version: str, labels_through: datetime | None
) -> RetrainResult:
    """The answer for a candidate with the data and settings of a stored model: nothing new
    to learn. Its label mark moves on so these labels do not trigger training again."""
    await repository.advance_labels_through(conn, version, labels_through)
    return RetrainResult(status="unchanged", version=version, reason="no new usable labels")


class Replica:
    """What this replica tags with (one :class:`Layers`: taxonomy, rules and model), kept
    current with the database, and the retraining that improves the model."""

    def __init__(self, settings: ClassifierSettings) -> None:
        self.settings = settings
        self.model: ClauseModel | None = None
        self._layers: Layers | None = None
        # Read once, here: a file that cannot be used stops the start, naming the file only.
        self.restricted: RestrictedTerms = load_restricted_terms(settings.restricted_terms_file)

    def rules_for(self, taxonomy: Taxonomy) -> RuleTagger:
        """The rules of ``taxonomy`` with this deployment's restricted terms."""
        return RuleTagger.from_taxonomy(taxonomy, restricted_terms=self.restricted)

    @property
    def layers(self) -> Layers:
        """The layers the next batch is tagged with."""
        if self._layers is None:
            raise RuntimeError("the classifier has not started")
        return self._layers

    async def start(self, pool: asyncpg.Pool, taxonomy: Taxonomy) -> None:
        """Rules for ``taxonomy``; the active model, trained first on a fresh install."""
        rules = await asyncio.to_thread(self.rules_for, taxonomy)
        if self.settings.model_enabled:
            self.model = await self._load_active(pool)
            if self.model is None:
                await self._store_seed(pool, taxonomy)
                self.model = await self._load_active(pool)
        self._layers = build_layers(taxonomy, rules, self.model)
        log.info(
            "classifier layers ready",
            extra={
                **rules.describe(),
                **describe_restricted(self.restricted),
                "model_version": self.layers.tagger.model_version,
            },
        )

    async def _load_active(self, pool: asyncpg.Pool) -> ClauseModel | None:
        async with pool.acquire() as conn:
            row = await repository.active_model(conn)
        if row is None:
            return None
        try:
            return await asyncio.to_thread(ClauseModel.from_bytes, bytes(row["artifact"]))
        except ModelError:
            log.exception("active model cannot be loaded", extra={"model_version": row["version"]})
            return None

    async def _store_seed(self, pool: asyncpg.Pool, taxonomy: Taxonomy) -> None:
        started = time.perf_counter()
        candidate = await asyncio.to_thread(
            seed_candidate, taxonomy, self.settings, cache=self.settings.seed_model_cache
        )
        TRAINING_SECONDS.observe(time.perf_counter() - started)
        async with pool.acquire() as conn, conn.transaction():
            await repository.lock_models(conn)
            if await repository.active_model_version(conn) is not None:
                return  # another replica stored one first
            await self._insert(conn, candidate, "active", "seed model", None)
        MODEL_TRAININGS.labels("seed").inc()
        log.info(
            "seed model trained",
            extra={
                "model_version": candidate.model.version,
                "seconds": round(time.perf_counter() - started, 3),
                "macro_f1": round(candidate.evaluation.clauses.macro_f1, 4),
            },
        )

    async def _insert(
        self,
        conn: asyncpg.Connection,
        candidate: Candidate,
        status: str,
        reason: str,
        verdict: Verdict | None,
        labels_through: datetime | None = None,
    ) -> bool:
        artifact = await asyncio.to_thread(candidate.model.to_bytes)
        return await repository.insert_model(
            conn,
            version=candidate.model.version,
            taxonomy_version=candidate.model.taxonomy_version,
            status=status,
            reason=reason,
            artifact=artifact,
            metadata=candidate.model.metadata(),
            evaluation=evaluation_json(candidate, verdict),
            training_texts=len(candidate.data.train_texts),
            decision_labels=candidate.data.decisions,
            labels_through=labels_through,
        )

    async def refresh(self, pool: asyncpg.Pool) -> bool:
        """Follow the latest taxonomy and the active model; True when the layers changed.

        The new rules are built before anything switches: a batch is tagged with one
        taxonomy version and its rules.
        """
        if self._layers is None:
            return False
        async with pool.acquire() as conn:
            latest = await taxonomy_service.latest_version(conn)
            model_version = await repository.active_model_version(conn)
        taxonomy, rules = self._layers.taxonomy, self._layers.tagger.rules
        if latest is not None and latest != taxonomy.version:
            taxonomy = await taxonomy_service.get(pool, latest)
            rules = await asyncio.to_thread(self.rules_for, taxonomy)
            log.info("taxonomy version switched", extra={"version": latest})
        model = self.model
        if (
            self.settings.model_enabled
            and model_version is not None
            and (model is None or model_version != model.version)
        ):
            model = await self._load_active(pool) or model
            if model is not None and model is not self.model:
                log.info("model switched", extra={"model_version": model.version})
        if rules is self._layers.tagger.rules and model is self.model:
            return False
        self.model = model
        self._layers = build_layers(taxonomy, rules, model)
        return True

    async def retrain_due(self, pool: asyncpg.Pool) -> bool:
        """Retraining is due: enough labels arrived, the schedule says so, or the taxonomy
        changed."""
        if not self.settings.model_enabled:
            return False
        async with pool.acquire() as conn:
            last = await repository.last_training(conn)
            trained_at = last["trained_at"] if last else None
            fresh = await repository.examples_since(conn, last["labels_through"] if last else None)
        taxonomy_changed = (
            self.model is not None and self.model.taxonomy_version != self.layers.taxonomy.version
        )
        interval = self.settings.retrain_interval_seconds
        scheduled = (
            interval > 0
            and fresh > 0
            and trained_at is not None
            and (time.time() - trained_at.timestamp()) >= interval
        )
        return fresh >= self.settings.retrain_min_new_labels or scheduled or taxonomy_changed

    async def train_now(self, pool: asyncpg.Pool) -> RetrainResult:
        """Train a candidate on every label now, evaluate it and promote it if not worse. The
        caller holds the training lock (``training/jobs.py``)."""
        # Judge against the model promoted last, even if another replica promoted it.
        await self.refresh(pool)
        taxonomy = self.layers.taxonomy
        async with pool.acquire() as conn:
            rows = await repository.labelled_examples_with_time(conn)
        decisions = [DecisionLabel(r["text"], r["clause_id"], r["from_qa"]) for r in rows]
        labels_through = max((r["stored_at"] for r in rows), default=None)
        started = time.perf_counter()
        if decisions:
            params = training_params(self.settings)
            data = await asyncio.to_thread(
                training_set,
                taxonomy,
                decisions,
                holdout_percent=self.settings.holdout_percent,
                decision_weight=self.settings.decision_label_weight,
            )
            expected = await asyncio.to_thread(candidate_version, taxonomy, data, params)
            async with pool.acquire() as conn:
                if await repository.model_row(conn, expected) is not None:
                    return await _unchanged(conn, expected, labels_through)
            candidate = await asyncio.to_thread(train_on, taxonomy, data, params)
        else:
            candidate = await asyncio.to_thread(seed_candidate, taxonomy, self.settings)
        active = self.model
        verdict = await asyncio.to_thread(
            judge, candidate, active, taxonomy_version=taxonomy.version
        )
        seconds = time.perf_counter() - started
        TRAINING_SECONDS.observe(seconds)
        version = candidate.model.version
        async with pool.acquire() as conn, conn.transaction():
            await repository.lock_models(conn)
            if await repository.model_row(conn, version) is not None:
                return await _unchanged(conn, version, labels_through)
            if verdict.promote:
                await repository.retire_active_model(conn)
            await self._insert(
                conn,
                candidate,
                "active" if verdict.promote else "rejected",
                verdict.reason,
                verdict,
                labels_through,
            )
        outcome: Literal["promoted", "rejected"] = "promoted" if verdict.promote else "rejected"
        MODEL_TRAININGS.labels(outcome).inc()
        log.info(
            "model trained",
            extra={
                "model_version": version,
                "outcome": outcome,
                "reason": verdict.reason,
                "decision_labels": candidate.data.decisions,
                "qa_labels": candidate.data.qa_labels,
                "seconds": round(seconds, 3),
            },
        )
        if verdict.promote and self.layers.taxonomy.version == taxonomy.version:
            # This replica switches now; the others follow at their next refresh.
            self.model = candidate.model
            self._layers = build_layers(taxonomy, self.layers.tagger.rules, candidate.model)
        return RetrainResult(status=outcome, version=version, reason=verdict.reason)
