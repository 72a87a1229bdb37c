"""Which failures of a consumer's batch are the system's (retry later) and which are the
data's (the same records fail the same way again, and must be set aside)."""

from __future__ import annotations

import asyncpg
from aiokafka.errors import KafkaError


class TransientFailure(Exception):
    """A failure of a dependency, not of the data: retrying the same work later may succeed."""


class PoisonRecord(Exception):
    """A record a handler cannot process, whatever the state of its dependencies: ``reason``
    is a short code (``invalid``, ``out_of_range``), ``errors`` the details, as JSON pointers
    into the record where they point at a field."""

    def __init__(self, reason: str, errors: list[dict[str, object]]) -> None:
        super().__init__(reason)
        self.reason = reason
        self.errors = errors


_TRANSIENT: tuple[type[BaseException], ...] = (
    TransientFailure,
    OSError,  # ConnectionError and refused or reset sockets
    TimeoutError,
    KafkaError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,  # "connection is closed" and other client-side connection states
    asyncpg.exceptions.TransactionRollbackError,  # serialization failures and deadlocks
    asyncpg.exceptions.LockNotAvailableError,
    asyncpg.exceptions.OperatorInterventionError,  # shutdown, cannot connect now, cancelled
)


def is_transient(exc: BaseException) -> bool:
    """True for failures of the database or broker connection and for conflicts between
    concurrent transactions: the same batch can succeed when tried again later."""
    return isinstance(exc, _TRANSIENT)


def is_resource_exhaustion(exc: BaseException) -> bool:
    """Postgres ran out of a resource (class 53: memory, shared memory, disk, connections).
    A large batch can cause it, so a batch is split; one record cannot, so a single record
    that meets it is retried like a transient failure rather than set aside."""
    return isinstance(exc, asyncpg.exceptions.InsufficientResourcesError)


def describe(exc: BaseException, *, limit: int = 500) -> str:
    """``Type: message``, cut to ``limit`` characters: the reason stored beside a dead letter
    (never logged: a database error can quote the values it refused)."""
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= limit else text[: limit - 1] + "…"
