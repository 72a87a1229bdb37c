"""The alerting tasks of one insights process: the evaluation scheduler and the outbox
sender, started and stopped together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import asyncpg
from aiokafka import AIOKafkaProducer

from pp_insights.alerts.breaches.evaluation import evaluate_all
from pp_insights.alerts.clock import Clock, wall_clock
from pp_insights.alerts.delivery.notifiers import Notifiers
from pp_insights.alerts.delivery.sender import OutboxSender
from pp_insights.alerts.rules.seed import seed_rules
from pp_insights.alerts.settings import AlertSettings
from pp_shared.contracts.topics import Topic, topic_name

log = logging.getLogger(__name__)


@dataclass
class Alerts:
    """What ``alerts_running`` started; tests drive ``evaluate`` and ``sender`` directly."""

    sender: OutboxSender
    evaluate: Callable[[], Awaitable[int]]
    wake_sender: asyncio.Event
    passes: dict[str, int]
    """Completed runs of each task, so tests can wait for one instead of for time."""


async def _every(
    name: str,
    interval: float,
    job: Callable[[], Awaitable[object]],
    passes: dict[str, int],
    wake: asyncio.Event | None = None,
) -> None:
    while True:
        try:
            await job()
            passes[name] = passes.get(name, 0) + 1
        except Exception as exc:  # the job must outlive any one failed run
            # A database blip or one bad row must not end alerting: log and retry next tick.
            log.exception("alerts job failed", extra={"job": name, "error": type(exc).__name__})
        if wake is None:
            await asyncio.sleep(interval)
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), interval)  # woken early by new outbox rows
        wake.clear()


@contextlib.asynccontextmanager
async def alerts_running(
    pool: asyncpg.Pool,
    producer: AIOKafkaProducer | None,
    settings: AlertSettings,
    *,
    clock: Clock = wall_clock,
    rng: random.Random | None = None,
) -> AsyncIterator[Alerts]:
    """Seed the rules, then evaluate every ``alert_evaluation_interval_seconds`` and deliver
    the outbox until the block ends; both tasks are cancelled and awaited on the way out.
    Rules, breaches and the outbox are records on ``pool``, where evaluation reads the
    rollups."""
    await seed_rules(pool, settings=settings, now=clock())
    topic = topic_name(Topic.BREACHES, getattr(settings, "topic_prefix", ""))
    notifiers = Notifiers(settings, producer, topic)
    sender = OutboxSender(pool, notifiers, settings, clock=clock, rng=rng)
    wake = asyncio.Event()
    passes: dict[str, int] = {"evaluate": 0, "send": 0}

    async def evaluate() -> int:
        evaluated = await evaluate_all(pool, now=clock(), settings=settings)
        if evaluated:
            wake.set()  # new outbox rows go out now, not at the next sender tick
        return evaluated

    tasks = [
        asyncio.create_task(
            _every("evaluate", settings.alert_evaluation_interval_seconds, evaluate, passes),
            name="insights-alerts-evaluate",
        ),
        asyncio.create_task(
            _every(
                "send", settings.alert_sender_interval_seconds, sender.deliver_due, passes, wake
            ),
            name="insights-alerts-send",
        ),
    ]
    try:
        yield Alerts(sender=sender, evaluate=evaluate, wake_sender=wake, passes=passes)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await notifiers.close()
