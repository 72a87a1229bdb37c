"""Retraining is a job: ``POST /v1/models/retrain`` answers 202 at once with a job to poll,
one training runs at a time, and a job whose replica stopped reads as ``interrupted``."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx

from pp_classifier.main import create_app
from pp_classifier.settings import ClassifierSettings
from pp_shared.testing.apps import running_app
from pp_shared.testing.plugin import eventually

JSON = {"content-type": "application/json"}
RETRAIN = "/v1/models/retrain"
TRAINING_LOCK = 0x70705F636C617331  # pp_classifier.training.repository._TRAINING_LOCK


async def poll(client: httpx.AsyncClient, href: str) -> dict[str, Any]:
    job: dict[str, Any] = (await client.get(href)).json()
    return job


class TestRetrainJobs:
    async def test_retrain_answers_202_with_a_job_that_ends_with_the_outcome(
        self, settings: ClassifierSettings
    ) -> None:
        # No schedule during the test: only the API starts trainings.
        settings = settings.model_copy(update={"retrain_check_seconds": 3600})
        async with running_app(create_app(settings)) as client:
            first = await client.post(RETRAIN, headers=JSON)
            second = await client.post(RETRAIN, headers=JSON)
            listed_running = (await client.get(f"{RETRAIN}/jobs")).json()
            done = await eventually(
                lambda: poll(client, first.headers["location"]),
                lambda j: j["state"] != "running",
                timeout=120,
                interval=0.2,
            )
            again = await client.post(RETRAIN, headers=JSON)
            missing = await client.get(f"{RETRAIN}/jobs/nope")
            seed = (await client.get("/v1/models")).json()[0]
        assert first.status_code == second.status_code == 202
        job = first.json()
        # Answered before the training ended (it takes seconds): the request did not train.
        assert (job["state"], job["trigger"], job["outcome"]) == ("running", "api", None)
        assert first.headers["location"] == job["href"] == f"{RETRAIN}/jobs/{job['id']}"
        # One at a time: asking again while it runs gets the same job.
        assert second.json()["id"] == job["id"]
        assert [j["id"] for j in listed_running] == [job["id"]]
        assert (done["state"], done["outcome"], done["model_version"], done["error"]) == (
            "done",
            "unchanged",
            seed["version"],
            None,
        )
        assert done["reason"] == "no new usable labels"
        assert done["finished_at"] >= done["started_at"]
        # Once it ended, a new request starts a new job.
        assert again.status_code == 202
        assert again.json()["id"] != job["id"]
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"

    async def test_one_training_across_replicas_and_stopped_jobs_read_as_interrupted(
        self, settings: ClassifierSettings, database_url: str
    ) -> None:
        settings = settings.model_copy(update={"retrain_check_seconds": 3600})
        async with running_app(create_app(settings)) as client:
            other = await asyncpg.connect(database_url)  # another replica, training
            try:
                assert await other.fetchval("SELECT pg_try_advisory_lock($1)", TRAINING_LOCK)
                starting = await client.post(RETRAIN, headers=JSON)
                await other.execute(
                    "INSERT INTO classifier.retrain_jobs (id, trigger, state, started_at)"
                    " VALUES ('other', 'schedule', 'running', now())"
                )
                running = await client.post(RETRAIN, headers=JSON)
                polled_while_held = await poll(client, f"{RETRAIN}/jobs/other")
                # That replica stops without finishing its job: its lock is gone with it.
                await other.execute("SELECT pg_advisory_unlock($1)", TRAINING_LOCK)
                polled_after = await poll(client, f"{RETRAIN}/jobs/other")
            finally:
                await other.close()
        # Locked, and no job written yet: the other replica is just starting.
        assert starting.status_code == 409
        assert starting.headers["content-type"] == "application/problem+json"
        assert (running.status_code, running.json()["id"]) == (202, "other")
        assert polled_while_held["state"] == "running"
        assert (polled_after["state"], polled_after["finished_at"] is not None) == (
            "interrupted",
            True,
        )
