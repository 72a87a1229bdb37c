"""The SQL of training: the texts and decision labels it learns from, and the stored models."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg


async def store_texts(conn: asyncpg.Connection, rows: Sequence[tuple[str, str, str]]) -> None:
    """Keep the first text seen per escalation (escalation_id, text, language)."""
    if not rows:
        return
    cols = list(zip(*rows, strict=True))
    await conn.execute(
        """
        INSERT INTO classifier.texts (escalation_id, text, language)
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
        ON CONFLICT (escalation_id) DO NOTHING
        """,
        *cols,
    )


async def store_labels(
    conn: asyncpg.Connection, rows: Sequence[tuple[str, str, str, datetime]]
) -> None:
    """Record decisions as labels; a later decision replaces an earlier one, a replay of an
    older one changes nothing."""
    if not rows:
        return
    latest: dict[str, tuple[str, str, str, datetime]] = {}
    for row in rows:
        seen = latest.get(row[0])
        if seen is None or row[3] > seen[3]:
            latest[row[0]] = row
    ordered = sorted(latest.values())
    cols = list(zip(*ordered, strict=True))
    await conn.execute(
        """
        INSERT INTO classifier.labels AS l (escalation_id, clause_id, decision_id, decided_at)
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[])
        ON CONFLICT (escalation_id) DO UPDATE
            SET clause_id = EXCLUDED.clause_id, decision_id = EXCLUDED.decision_id,
                decided_at = EXCLUDED.decided_at, stored_at = clock_timestamp()
            WHERE EXCLUDED.decided_at > l.decided_at
        """,
        *cols,
    )


async def store_qa_labels(
    conn: asyncpg.Connection, rows: Sequence[tuple[str, str, bool, str | None, datetime]]
) -> None:
    """Record QA reviews (escalation_id, decision_id, agrees, correct clause, reviewed_at); a
    later review replaces an earlier one, a replay of an older one changes nothing."""
    if not rows:
        return
    latest: dict[str, tuple[str, str, bool, str | None, datetime]] = {}
    for row in rows:
        seen = latest.get(row[0])
        if seen is None or row[4] > seen[4]:
            latest[row[0]] = row
    ordered = sorted(latest.values(), key=lambda r: r[0])
    cols = list(zip(*ordered, strict=True))
    await conn.execute(
        """
        INSERT INTO classifier.qa_labels AS q
            (escalation_id, decision_id, agrees, clause_id, reviewed_at)
        SELECT * FROM unnest($1::text[], $2::text[], $3::boolean[], $4::text[],
                             $5::timestamptz[])
        ON CONFLICT (escalation_id) DO UPDATE
            SET decision_id = EXCLUDED.decision_id, agrees = EXCLUDED.agrees,
                clause_id = EXCLUDED.clause_id, reviewed_at = EXCLUDED.reviewed_at,
                stored_at = clock_timestamp()
            WHERE EXCLUDED.reviewed_at > q.reviewed_at
        """,
        *cols,
    )


_MODEL_SUMMARY = (
    "version, taxonomy_version, status, reason, metadata, evaluation, training_texts,"
    " decision_labels, labels_through, trained_at, promoted_at"
)


async def insert_model(
    conn: asyncpg.Connection,
    *,
    version: str,
    taxonomy_version: str,
    status: str,
    reason: str,
    artifact: bytes,
    metadata: dict[str, Any],
    evaluation: dict[str, Any],
    training_texts: int,
    decision_labels: int,
    labels_through: datetime | None,
) -> bool:
    """Store a trained model; False when that version is already stored."""
    row = await conn.fetchrow(
        """
        INSERT INTO classifier.models
            (version, taxonomy_version, status, reason, artifact, metadata, evaluation,
             training_texts, decision_labels, labels_through, promoted_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
                CASE WHEN $3 = 'active' THEN clock_timestamp() END)
        ON CONFLICT (version) DO NOTHING
        RETURNING version
        """,
        version,
        taxonomy_version,
        status,
        reason,
        artifact,
        metadata,
        evaluation,
        training_texts,
        decision_labels,
        labels_through,
    )
    return row is not None


async def retire_active_model(conn: asyncpg.Connection) -> None:
    await conn.execute("UPDATE classifier.models SET status = 'retired' WHERE status = 'active'")


async def advance_labels_through(
    conn: asyncpg.Connection, version: str, labels_through: datetime | None
) -> None:
    await conn.execute(
        "UPDATE classifier.models SET labels_through = greatest(labels_through, $2)"
        " WHERE version = $1",
        version,
        labels_through,
    )


async def active_model(conn: asyncpg.Connection) -> asyncpg.Record | None:
    """The active model with its artifact."""
    row: asyncpg.Record | None = await conn.fetchrow(
        f"SELECT {_MODEL_SUMMARY}, artifact FROM classifier.models WHERE status = 'active'"  # noqa: S608
    )
    return row


async def active_model_version(conn: asyncpg.Connection) -> str | None:
    version: str | None = await conn.fetchval(
        "SELECT version FROM classifier.models WHERE status = 'active'"
    )
    return version


async def model_artifact(conn: asyncpg.Connection, version: str) -> bytes | None:
    artifact: bytes | None = await conn.fetchval(
        "SELECT artifact FROM classifier.models WHERE version = $1", version
    )
    return artifact


async def list_models(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Every stored model without its artifact, newest first."""
    return list(
        await conn.fetch(
            f"SELECT {_MODEL_SUMMARY} FROM classifier.models"  # noqa: S608
            " ORDER BY trained_at DESC, version"
        )
    )


async def model_row(conn: asyncpg.Connection, version: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        f"SELECT {_MODEL_SUMMARY} FROM classifier.models WHERE version = $1",  # noqa: S608
        version,
    )
    return row


async def last_training(conn: asyncpg.Connection) -> asyncpg.Record | None:
    """When the newest model was trained and the newest label it saw."""
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT max(trained_at) AS trained_at, max(labels_through) AS labels_through"
        " FROM classifier.models"
    )
    return row


async def try_training_lock(conn: asyncpg.Connection) -> bool:
    """One replica trains at a time; the lock is held by ``conn``'s session."""
    locked: bool = await conn.fetchval("SELECT pg_try_advisory_lock($1)", _TRAINING_LOCK)
    return locked


async def release_training_lock(conn: asyncpg.Connection) -> None:
    await conn.execute("SELECT pg_advisory_unlock($1)", _TRAINING_LOCK)


async def lock_models(conn: asyncpg.Connection) -> None:
    """Serialise promotions (inside a transaction)."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _PROMOTION_LOCK)


# An escalation's label: a QA correction (a reviewer disagreed and named the clause) before
# the decision's clause. ``greatest`` skips NULLs: a pair is complete when its last part came.
_LABELLED = """
    FROM classifier.texts t
    LEFT JOIN classifier.labels l USING (escalation_id)
    LEFT JOIN classifier.qa_labels q
        ON q.escalation_id = t.escalation_id AND NOT q.agrees AND q.clause_id IS NOT NULL
    WHERE l.escalation_id IS NOT NULL OR q.escalation_id IS NOT NULL
"""


async def labelled_examples_with_time(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Every escalation with both a text and a label, oldest first, with when the pair was
    complete and whether the label is a QA correction."""
    return list(
        await conn.fetch(
            "SELECT t.escalation_id, t.text, t.language,"
            " coalesce(q.clause_id, l.clause_id) AS clause_id,"
            " q.clause_id IS NOT NULL AS from_qa,"
            " greatest(t.stored_at, l.stored_at, q.stored_at) AS stored_at"
            + _LABELLED
            + " ORDER BY stored_at, t.escalation_id"
        )
    )


async def examples_since(conn: asyncpg.Connection, since: datetime | None) -> int:
    """Labelled texts completed (text and label both stored) after ``since``."""
    n: int = await conn.fetchval(
        "SELECT count(*)" + _LABELLED + " AND ($1::timestamptz IS NULL"
        " OR greatest(t.stored_at, l.stored_at, q.stored_at) > $1)",
        since,
    )
    return n


# Fixed keys of this service's advisory locks (arbitrary, distinct from the migration lock).
_TRAINING_LOCK = 0x70705F636C617331
_PROMOTION_LOCK = 0x70705F636C617332
