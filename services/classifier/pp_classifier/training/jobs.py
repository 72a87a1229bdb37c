"""Retraining as a job: started at once, trained in the background, polled by its id.

A training takes from seconds to minutes, longer than a request may wait at the gateway, so
``POST /v1/models/retrain`` answers 202 with a job and the training goes on in this process.
One training runs at a time across every replica: the job is started only by the replica that
takes the training lock (a Postgres advisory lock, held by one connection for the whole
training); a request while one runs gets that running job back. The schedule starts its
trainings as jobs too, so every training is listed. Jobs are rows of
``classifier.retrain_jobs``, so any replica answers a poll; a job still ``running`` whose lock
nobody holds was cut short (its replica stopped) and is marked ``interrupted`` when read.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import asyncpg

from pp_classifier.metrics import MODEL_TRAININGS
from pp_classifier.training import job_records, repository
from pp_classifier.training.job_records import JobView, RetrainJob, Trigger
from pp_classifier.training.service import Replica, RetrainResult
from pp_shared.problems import NotFound, ProblemError
from pp_shared.records import Records

log = logging.getLogger(__name__)


class TrainingBusy(ProblemError):
    status_code = 409
    problem_type = "conflict"
    title = "Another replica is starting a training"


def _now() -> datetime:
    return datetime.now(UTC)


class Retrainer:
    """Starts trainings of ``replica`` as jobs, one at a time, and answers for them."""

    def __init__(
        self,
        replica: Replica,
        pool: asyncpg.Pool,
        records: Records,
        *,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.replica = replica
        self.pool = pool
        self.records = records
        self._clock = clock
        self._task: asyncio.Task[RetrainResult | BaseException] | None = None
        self._job_id: str | None = None

    def _running_here(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self, trigger: Trigger) -> JobView:
        """A new job, or the one already running (here or on another replica)."""
        if self._running_here():
            assert self._job_id is not None
            return await self.job(self._job_id)
        conn: asyncpg.Connection = await self.pool.acquire()
        locked = False
        try:
            locked = await repository.try_training_lock(conn)
            if locked:
                job = RetrainJob(
                    id=uuid.uuid4().hex, trigger=trigger, state="running", started_at=self._clock()
                )
                async with self.records.transaction() as session:
                    session.add(job)
        except BaseException:
            if locked:
                await repository.release_training_lock(conn)
            await self.pool.release(conn)
            raise
        if not locked:
            await self.pool.release(conn)
            return await self._running_elsewhere()
        self._job_id = job.id
        self._task = asyncio.create_task(self._run(job.id, conn), name=f"retrain-{job.id}")
        log.info("retraining started", extra={"job_id": job.id, "trigger": trigger})
        return JobView.of(job)

    async def _running_elsewhere(self) -> JobView:
        async with self.records.reading() as session:
            running = await job_records.newest(session, limit=1, state="running")
        if not running:
            # The other replica holds the lock and has not written its job yet.
            raise TrainingBusy("a training is starting on another replica; ask again shortly")
        return JobView.of(running[0])

    async def _run(self, job_id: str, conn: asyncpg.Connection) -> RetrainResult | BaseException:
        """Train, then record how it ended; the lock is released only once the row says so."""
        try:
            result = await self.replica.train_now(self.pool)
        except asyncio.CancelledError:
            await self._finish(job_id, state="interrupted", error="CancelledError")
            raise
        except Exception as exc:
            log.exception("retraining failed", extra={"job_id": job_id})
            MODEL_TRAININGS.labels("failed").inc()
            await self._finish(job_id, state="failed", error=type(exc).__name__)
            return exc
        else:
            await self._finish(
                job_id,
                state="done",
                outcome=result.status,
                model_version=result.version,
                reason=result.reason,
            )
            return result
        finally:
            try:
                await repository.release_training_lock(conn)
            finally:
                await self.pool.release(conn)

    async def _finish(self, job_id: str, *, state: str, **fields: str | None) -> None:
        async with self.records.transaction() as session:
            job = await job_records.get(session, job_id)
            if job is None:
                raise RuntimeError(f"retraining job {job_id} vanished")
            job.state = state
            job.finished_at = self._clock()
            for name, value in fields.items():
                setattr(job, name, value)
            session.add(job)

    async def wait(self) -> RetrainResult:
        """The result of the job running in this process (it raised: raise that again)."""
        assert self._task is not None
        outcome = await asyncio.shield(self._task)
        if isinstance(outcome, BaseException):
            raise RuntimeError(f"retraining failed: {type(outcome).__name__}") from outcome
        return outcome

    async def run_if_due(self) -> RetrainResult | None:
        """The schedule: start a job when retraining is due and wait for it, so that a
        failure counts as a failure of the periodic task."""
        if self._running_here() or not await self.replica.retrain_due(self.pool):
            return None
        job = await self.start("schedule")
        if job.id != self._job_id:
            return None  # another replica is training
        return await self.wait()

    async def job(self, job_id: str) -> JobView:
        """A job by its id; one whose replica stopped before it ended is ``interrupted``."""
        async with self.records.reading() as session:
            job = await job_records.get(session, job_id)
        if job is None:
            raise NotFound(f"no retraining job {job_id}")
        if job.state == "running" and not (self._running_here() and self._job_id == job_id):
            job = await self._settle_orphan(job_id) or job
        return JobView.of(job)

    async def jobs(self, *, limit: int) -> list[JobView]:
        async with self.records.reading() as session:
            found = await job_records.newest(session, limit=limit)
        return [JobView.of(j) for j in found]

    async def _settle_orphan(self, job_id: str) -> RetrainJob | None:
        """Take the training lock: if it is free, no replica is training, so a job still
        ``running`` was interrupted; its row is marked so and returned."""
        async with self.pool.acquire() as conn:
            if not await repository.try_training_lock(conn):
                return None  # its replica is still training
            try:
                async with self.records.transaction() as session:
                    job = await job_records.get(session, job_id)
                    if job is None or job.state != "running":
                        return job
                    job.state = "interrupted"
                    job.finished_at = self._clock()
                    session.add(job)
                log.warning("retraining job was interrupted", extra={"job_id": job_id})
                return job
            finally:
                await repository.release_training_lock(conn)

    async def close(self) -> None:
        """Stop a training in progress (its job ends ``interrupted``)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
