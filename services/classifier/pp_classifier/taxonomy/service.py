"""Taxonomy versions in Postgres: publish (immutable), read, list and diff. Running
classifiers follow the latest version without a restart (``training.service.Replica``).

A caller restricted to policy areas (``pp_shared.identity``) reads taxonomies and diffs with
the areas and clauses of other areas removed; a taxonomy with none of its areas is 403 to it."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import asyncpg
import orjson
from pydantic import BaseModel, ValidationError

from pp_classifier.taxonomy import repository
from pp_classifier.taxonomy.document import Taxonomy, TaxonomyDiff, diff, load_taxonomy
from pp_shared.contracts.events import TaxonomyPublished
from pp_shared.identity import INTERNAL, Identity
from pp_shared.problems import Forbidden, InvalidInput, NotFound, ProblemError, field_errors

log = logging.getLogger(__name__)


class VersionConflict(ProblemError):
    status_code = 409
    problem_type = "taxonomy-version-conflict"
    title = "Taxonomy versions are immutable"


class PublishResult(BaseModel):
    version: str
    status: str  # "published" or "unchanged"
    clauses: int


class VersionSummary(BaseModel):
    version: str
    published_at: str
    published_by: str
    stored_at: datetime


def _digest(taxonomy: Taxonomy) -> tuple[dict[str, Any], bytes]:
    content = taxonomy.model_dump(mode="json")
    return content, hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).digest()


def _key(version: str) -> list[int]:
    return [int(p) for p in version.split(".")]


def validate(data: Any) -> Taxonomy:
    """A taxonomy from untrusted data, or InvalidInput with a pointer per error."""
    try:
        return Taxonomy.model_validate(data)
    except ValidationError as exc:
        errors = field_errors(exc.errors())
        raise InvalidInput(
            f"the taxonomy failed validation ({len(errors)} error(s))", errors=errors
        ) from exc


async def publish(pool: asyncpg.Pool, *, data: Any, published_by: str) -> PublishResult:
    """Store a new version. Re-publishing identical content is a no-op; a different body
    under a published version, or a version not newer than the latest, is a conflict."""
    taxonomy = validate(data)
    content, sha = _digest(taxonomy)
    clauses = len(taxonomy.clause_ids())
    async with pool.acquire() as conn, conn.transaction():
        # One publisher at a time, so "newer than the latest" holds under concurrency.
        await repository.lock_versions(conn)
        existing = await repository.taxonomy_row(conn, taxonomy.version)
        if existing is not None:
            if bytes(existing["content_sha256"]) == sha:
                return PublishResult(version=taxonomy.version, status="unchanged", clauses=clauses)
            raise VersionConflict(
                f"version {taxonomy.version} is already published with different content;"
                " publish the change under a new version",
                errors=[{"pointer": "/version", "detail": "already published"}],
            )
        latest = await repository.latest_taxonomy_version(conn)
        if latest is not None and _key(taxonomy.version) <= _key(latest):
            raise VersionConflict(
                f"version {taxonomy.version} is not newer than the latest, {latest}",
                errors=[
                    {
                        "pointer": "/version",
                        "detail": f"must be newer than {latest}",
                        "found": taxonomy.version,
                    }
                ],
            )
        await repository.insert_taxonomy(
            conn,
            version=taxonomy.version,
            version_key=_key(taxonomy.version),
            content=content,
            sha=sha,
            published_by=published_by,
        )
    log.info("taxonomy published", extra={"version": taxonomy.version, "clauses": clauses})
    return PublishResult(version=taxonomy.version, status="published", clauses=clauses)


async def publish_seed(pool: asyncpg.Pool) -> str | None:
    """Publish the packaged seed when the database has nothing as new (a fresh install);
    return the version published now, if any."""
    seed = load_taxonomy()
    async with pool.acquire() as conn:
        latest = await repository.latest_taxonomy_version(conn)
    if latest is not None and _key(seed.version) <= _key(latest):
        return None
    result = await publish(pool, data=seed.model_dump(mode="json"), published_by="seed")
    return result.version


async def get(
    pool: asyncpg.Pool, version: str | None = None, *, caller: Identity = INTERNAL
) -> Taxonomy:
    """One version, or the latest when ``version`` is None, as ``caller`` may see it."""
    return within_areas(await _get(pool, version), caller)


async def _get(pool: asyncpg.Pool, version: str | None = None) -> Taxonomy:
    async with pool.acquire() as conn:
        if version is None:
            row = await repository.latest_taxonomy(conn)
        else:
            row = await repository.taxonomy_row(conn, version)
    if row is None:
        raise NotFound(f"no taxonomy version {version}" if version else "no taxonomy published")
    return Taxonomy.model_validate(row["content"])


async def latest_version(conn: asyncpg.Connection) -> str | None:
    """The latest published version: the one running classifiers switch to."""
    return await repository.latest_taxonomy_version(conn)


async def versions(pool: asyncpg.Pool) -> list[VersionSummary]:
    async with pool.acquire() as conn:
        rows = await repository.list_taxonomies(conn)
    return [
        VersionSummary(
            version=r["version"],
            published_at=r["published_at"],
            published_by=r["published_by"],
            stored_at=r["stored_at"],
        )
        for r in rows
    ]


async def compare(
    pool: asyncpg.Pool, *, old: str, new: str, caller: Identity = INTERNAL
) -> TaxonomyDiff:
    """What changed from ``old`` to ``new`` for the clauses of the areas ``caller`` sees."""
    changes = diff(await _get(pool, old), await _get(pool, new))
    if caller.areas is None:
        return changes
    return changes.model_copy(
        update={
            "added": tuple(c for c in changes.added if _sees_clause(caller, c)),
            "removed": tuple(c for c in changes.removed if _sees_clause(caller, c)),
            "changed": {c: f for c, f in changes.changed.items() if _sees_clause(caller, c)},
        }
    )


def _sees_clause(caller: Identity, clause_id: str) -> bool:
    # A clause's id starts with its area's (Area checks it): HATE.SLURS is of HATE.
    return caller.sees(clause_id.split(".", 1)[0])


def within_areas(taxonomy: Taxonomy, caller: Identity) -> Taxonomy:
    """The taxonomy with only the areas ``caller`` sees; 403 when it sees none of them."""
    if caller.areas is None:
        return taxonomy
    areas = tuple(area for area in taxonomy.areas if caller.sees(area.id))
    if not areas:
        raise Forbidden(
            f"taxonomy {taxonomy.version} has no area this key may see "
            f"({', '.join(sorted(caller.areas)) or 'none'})"
        )
    return Taxonomy.model_validate({**taxonomy.model_dump(), "areas": areas})


LAUNCH_FIELDS = frozenset(
    {"title", "description", "positive_examples", "negative_examples", "lexicon"}
)
"""The clause fields whose change moderators act on: a version changing one of them is a launch
of that clause (a changed DSA mapping alone is not)."""

Announce = Callable[[TaxonomyPublished], Awaitable[None]]
"""Sends one announcement and returns once the broker has it."""


def announcement(
    *, new: Taxonomy, old: Taxonomy | None, published_by: str, stored_at: datetime
) -> TaxonomyPublished:
    """What a version announces: the clauses it added, removed, or changed in wording."""
    if old is None:
        changed: tuple[str, ...] = new.clause_ids()
    else:
        d = diff(old, new)
        worded = (c for c, fields in d.changed.items() if LAUNCH_FIELDS.intersection(fields))
        changed = (*d.added, *d.removed, *worded)
    return TaxonomyPublished(
        version=new.version,
        previous_version=old.version if old is not None else None,
        stored_at=stored_at,
        published_by=published_by,
        description=new.description,
        changed_clause_ids=tuple(sorted(changed)),
    )


async def announce_pending(pool: asyncpg.Pool, *, send: Announce) -> list[str]:
    """Announce every version not announced yet, oldest first; returns the versions announced.
    A version is marked once the broker has its announcement, so a failure repeats it later
    (consumers key by version)."""
    async with pool.acquire() as conn:
        pending = await repository.unannounced_versions(conn)
    done = []
    for row in pending:
        previous = row["previous_content"]
        message = announcement(
            new=Taxonomy.model_validate(row["content"]),
            old=Taxonomy.model_validate(previous) if previous is not None else None,
            published_by=row["published_by"],
            stored_at=row["stored_at"],
        )
        await send(message)
        async with pool.acquire() as conn:
            await repository.mark_announced(conn, message.version)
        done.append(message.version)
        log.info(
            "taxonomy version announced",
            extra={"version": message.version, "changed_clauses": len(message.changed_clause_ids)},
        )
    return done
