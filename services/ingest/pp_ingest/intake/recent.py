"""Events this process accepted lately, to answer a re-send at once.

An event accepted a moment ago is in flight (in the raw topic, not yet in the log), so the log
lookup cannot tell a re-send of it from a new event: without this record, the re-send was
accepted again (and stored once by the consumer), and the sender could not tell that its retry
had landed twice. The record remembers the body hash of each event id this process accepted,
for at most ``max_age`` seconds and at most ``max_size`` ids (the oldest go first), and answers
only what the log does not: the log stays the authority.

It is per process: a re-send that reaches another replica is answered from the log there, as
before (accepted while in flight, stored once all the same).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable


class RecentEvents:
    """Event id -> (body hash, when accepted), oldest first, bounded in size and age.

    A lookup is one dict access; a remember is an insertion plus, once full or old, the
    removal of the oldest entries: well under a microsecond each on the hot path.
    """

    def __init__(
        self,
        *,
        max_size: int,
        max_age: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_size = max_size
        self.max_age = max_age
        self._clock = clock
        self._entries: OrderedDict[str, tuple[bytes, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def hash_of(self, event_id: str) -> bytes | None:
        """The body hash this process accepted ``event_id`` with lately, or None."""
        if self.max_size == 0:
            return None
        entry = self._entries.get(event_id)
        if entry is None:
            return None
        sha, at = entry
        if self._clock() - at > self.max_age:
            return None
        return sha

    def remember(self, accepted: Iterable[tuple[str, bytes]]) -> None:
        """Record ``(event_id, body hash)`` pairs the broker acknowledged just now."""
        if self.max_size == 0:
            return
        now = self._clock()
        entries = self._entries
        for event_id, sha in accepted:
            entries[event_id] = (sha, now)
            entries.move_to_end(event_id)
        while len(entries) > self.max_size:
            entries.popitem(last=False)
        horizon = now - self.max_age
        while entries:
            oldest = next(iter(entries.values()))
            if oldest[1] >= horizon:
                break
            entries.popitem(last=False)
