"""Console sessions: a signed-in browser holds a random session token in a cookie; the
gateway keeps, under the token's hash, the API key it signed in with, the key's identity and
the session's CSRF token. The key never goes back to the browser.

Sessions live in the memory of the gateway that made them: a restart, or a second replica,
asks the browser to sign in again. A session ends at sign-out, when it has been idle for
``idle``, ``lifetime`` after sign-in, when its key is revoked through this gateway, and on the
first request its key is refused with (a key revoked elsewhere, or expired).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from pp_shared.identity import Identity

COOKIE = "pp_console"
PRE_SESSION_COOKIE = "pp_console_signin"
"""The sign-in form's CSRF token, before there is a session (double-submit)."""
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
MAX_SESSIONS = 10_000


@dataclass(slots=True)
class Session:
    key: str = field(repr=False)
    identity: Identity
    csrf: str = field(repr=False)
    started: float
    seen: float

    @property
    def areas(self) -> list[str] | None:
        return sorted(self.identity.areas) if self.identity.areas is not None else None

    def may_see(self, area: str) -> bool:
        return self.identity.areas is None or area in self.identity.areas

    def csrf_ok(self, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(self.csrf.encode(), token.encode())


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SessionStore:
    def __init__(self, *, idle: float = 8 * 3600, lifetime: float = 24 * 3600) -> None:
        self.idle = idle
        self.lifetime = lifetime
        self._sessions: OrderedDict[str, Session] = OrderedDict()

    def start(self, key: str, identity: Identity) -> tuple[str, Session]:
        """A new session for ``key``; the token for the cookie, and the session."""
        token = secrets.token_urlsafe(32)
        now = time.monotonic()
        session = Session(key, identity, secrets.token_urlsafe(32), now, now)
        if len(self._sessions) >= MAX_SESSIONS:
            self._sessions.popitem(last=False)
        self._sessions[_hash(token)] = session
        return token, session

    def get(self, token: str | None) -> Session | None:
        if not token:
            return None
        hashed = _hash(token)
        session = self._sessions.get(hashed)
        if session is None:
            return None
        now = time.monotonic()
        if now - session.seen > self.idle or now - session.started > self.lifetime:
            del self._sessions[hashed]
            return None
        session.seen = now
        self._sessions.move_to_end(hashed)
        return session

    def end(self, token: str | None) -> None:
        if token:
            self._sessions.pop(_hash(token), None)

    def end_key(self, prefix: str) -> int:
        """End every session of the key with ``prefix`` (it was revoked); how many."""
        gone = [h for h, s in self._sessions.items() if s.identity.key_prefix == prefix]
        for hashed in gone:
            del self._sessions[hashed]
        return len(gone)

    def __len__(self) -> int:
        return len(self._sessions)
