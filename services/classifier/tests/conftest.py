"""Fixtures of the classifier tests."""

from __future__ import annotations

import pytest

from pp_classifier.settings import ClassifierSettings
from pp_shared.testing.servers import Servers


@pytest.fixture
def settings(servers: Servers, database_url: str, topic_prefix: str) -> ClassifierSettings:
    """The classifier on this test's database and topics; ``model_copy(update=...)`` for more."""
    return ClassifierSettings(
        database_url=database_url,
        kafka_bootstrap_servers=servers.kafka_bootstrap,
        topic_prefix=topic_prefix,
        kafka_session_timeout_ms=servers.session_timeout_ms,
    )
