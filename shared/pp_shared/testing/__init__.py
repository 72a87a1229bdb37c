"""Test fixtures with real servers: Postgres and a Kafka-protocol broker from environment
URLs, else from testcontainers when a Docker daemon answers, else the embedded pair."""
