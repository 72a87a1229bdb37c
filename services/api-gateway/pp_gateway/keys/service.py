"""API keys: made, listed, revoked, and checked on every request.

A key is ``ppk_<8 characters>_<43 characters>``: its first 12 characters are its public
prefix (shown in listings, logs and the audit log), the whole key carries 256 random bits and
is stored only as its SHA-256. Checking a key finds the row by prefix and compares hashes in
constant time; a prefix no row has is compared against a fixed hash, so the answer and its
time are the same whether the key exists or not.

Checks are answered from memory: a key's row is read once and kept for
:data:`CACHE_SECONDS`, so a revocation by another process (``policypulse keys revoke``)
holds within that time; one through this gateway's API holds at once. While the database is
unreachable, keys checked before keep their last known state; a key not seen before gets 503.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
from sqlmodel import col, select

from pp_gateway.access import Role
from pp_gateway.keys.tables import ApiKey
from pp_shared.failures import is_transient
from pp_shared.identity import ACTOR_PATTERN, AREA_PATTERN, Identity
from pp_shared.problems import Unavailable
from pp_shared.records import Records

PREFIX_PATTERN = r"^ppk_[a-z2-7]{8}$"
"""A key's public prefix: what listings, the audit log and revocations name it by."""
KEY_PATTERN = re.compile(PREFIX_PATTERN[:-1] + r"_[A-Za-z0-9_-]{43}$")
PREFIX_LENGTH = 12
CACHE_SECONDS = 5.0
CACHE_ENTRIES = 10_000
"""Prefixes kept in memory, the oldest read forgotten first: keys that do not exist cost a
read each, and must not grow the cache without end."""
_AREA = re.compile(AREA_PATTERN)
_ACTOR = re.compile(ACTOR_PATTERN)
_NO_KEY_HASH = hashlib.sha256(b"no such key").digest()
_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
_KEY_BY_PREFIX = """
    SELECT key_hash, owner, role, areas, expires_at, revoked_at
    FROM gateway.api_keys WHERE prefix = $1
"""


class KeyError_(ValueError):
    """A key that cannot be made as asked: the message says which field and why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def new_key() -> tuple[str, str]:
    """A new key and its prefix."""
    prefix = "ppk_" + "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return f"{prefix}_{secrets.token_urlsafe(32)}", prefix


def key_hash(key: str) -> bytes:
    return hashlib.sha256(key.encode("ascii")).digest()


@dataclass(frozen=True, slots=True)
class KeyRequest:
    role: str
    owner: str
    name: str
    areas: Sequence[str] | None = None
    expires_in: timedelta | None = None

    def checked(self) -> KeyRequest:
        if self.role not in Role.__members__.values():
            roles = ", ".join(r.value for r in Role)
            raise KeyError_("role", f"unknown role {self.role!r}; one of {roles}")
        if not _ACTOR.match(self.owner):
            raise KeyError_("owner", "1 to 100 of letters, digits and _ . @ : -")
        if not 1 <= len(self.name) <= 100 or not self.name.isprintable():
            raise KeyError_("name", "1 to 100 printable characters")
        if self.areas is not None:
            if not self.areas:
                raise KeyError_("areas", "name at least one area, or none for every area")
            bad = [a for a in self.areas if not _AREA.match(a)]
            if bad:
                raise KeyError_("areas", f"not an area name: {bad[0]!r} (upper case, e.g. HATE)")
        if self.expires_in is not None and self.expires_in <= timedelta(0):
            raise KeyError_("expires_in", "must be in the future")
        return self


def parse_duration(text: str) -> timedelta:
    """``90d``, ``12h``, ``30m``: a key's lifetime."""
    match = re.fullmatch(r"(\d{1,5})([dhm])", text.strip())
    if match is None:
        raise KeyError_("expires", f"not a duration like 90d, 12h or 30m: {text!r}")
    number, unit = int(match[1]), match[2]
    return {"d": timedelta(days=number), "h": timedelta(hours=number)}.get(
        unit, timedelta(minutes=number)
    )


async def create_key(
    records: Records, request: KeyRequest, *, created_by: str, now: datetime | None = None
) -> tuple[str, ApiKey]:
    """Store a new key; returns the key (shown once, never stored) and its row."""
    request = request.checked()
    now = now or datetime.now(UTC)
    key, prefix = new_key()
    row = ApiKey(
        prefix=prefix,
        key_hash=key_hash(key),
        name=request.name,
        owner=request.owner,
        role=request.role,
        areas=sorted(set(request.areas)) if request.areas is not None else None,
        created_at=now,
        created_by=created_by,
        expires_at=now + request.expires_in if request.expires_in else None,
    )
    async with records.transaction() as session:
        session.add(row)
    return key, row


async def list_keys(records: Records, *, include_revoked: bool = False) -> list[ApiKey]:
    statement = select(ApiKey).order_by(col(ApiKey.key_id))
    if not include_revoked:
        statement = statement.where(col(ApiKey.revoked_at).is_(None))
    async with records.reading() as session:
        return list((await session.exec(statement)).all())


async def revoke_key(
    records: Records, prefix: str, *, revoked_by: str, now: datetime | None = None
) -> ApiKey | None:
    """Revoke the key with ``prefix``; None when there is none. Revoking twice keeps the
    first revocation."""
    async with records.transaction() as session:
        statement = select(ApiKey).where(col(ApiKey.prefix) == prefix).with_for_update()
        row = (await session.exec(statement)).first()
        if row is None:
            return None
        if row.revoked_at is None:
            row.revoked_at = now or datetime.now(UTC)
            row.revoked_by = revoked_by
            session.add(row)
    return row


@dataclass(frozen=True, slots=True)
class _Cached:
    hash: bytes
    identity: Identity | None
    """None: revoked (or no such key)."""
    expires_at: float | None
    read_at: float


class KeyChecker:
    """Answers "whose key is this?" from memory, reading a prefix's row at most once per
    :data:`CACHE_SECONDS`."""

    def __init__(self, pool: asyncpg.Pool, *, cache_seconds: float = CACHE_SECONDS) -> None:
        # On the asyncpg pool, as the request path's other statement (the audit's copy): one
        # read per key per few seconds, whose failures must read as the connection's.
        self.pool = pool
        self.cache_seconds = cache_seconds
        self._cache: dict[str, _Cached] = {}

    def forget(self, prefix: str) -> None:
        self._cache.pop(prefix, None)

    async def identify(self, key: str) -> Identity | None:
        """The identity of a valid key; None for a malformed, unknown, revoked or expired
        one."""
        if KEY_PATTERN.match(key) is None:
            hmac.compare_digest(_NO_KEY_HASH, hashlib.sha256(key.encode(errors="replace")).digest())
            return None
        prefix = key[:PREFIX_LENGTH]
        now = time.monotonic()
        cached = self._cache.get(prefix)
        if cached is None or now - cached.read_at > self.cache_seconds:
            try:
                cached = await self._read(prefix, now)
            except Exception as exc:
                if not is_transient(exc):
                    raise
                if cached is None:
                    raise Unavailable(
                        "API keys cannot be checked: the gateway's database is unreachable",
                        headers={"Retry-After": "5"},
                        extra={"reason": "key store unavailable"},
                    ) from exc
                # What was known of the key a moment ago holds while the database is away.
        matches = hmac.compare_digest(cached.hash, key_hash(key))
        if not matches or cached.identity is None:
            return None
        if cached.expires_at is not None and time.time() >= cached.expires_at:
            return None
        return cached.identity

    async def _read(self, prefix: str, now: float) -> _Cached:
        row = await self.pool.fetchrow(_KEY_BY_PREFIX, prefix)
        if row is None:
            entry = _Cached(_NO_KEY_HASH, None, None, now)
        else:
            identity = None
            if row["revoked_at"] is None:
                areas = frozenset(row["areas"]) if row["areas"] is not None else None
                identity = Identity(row["owner"], row["role"], prefix, areas)
            expires = row["expires_at"].timestamp() if row["expires_at"] is not None else None
            entry = _Cached(bytes(row["key_hash"]), identity, expires, now)
        self._cache.pop(prefix, None)
        if len(self._cache) >= CACHE_ENTRIES:
            del self._cache[next(iter(self._cache))]
        self._cache[prefix] = entry
        return entry
