"""A seal on raw-topic messages that intake has validated, so the raw consumer need not
validate them again.

Producers may write straight to the raw topic, so a header alone proves nothing: the seal is
a keyed BLAKE2b MAC of the message value under a key only ingest holds (``PP_INTAKE_KEY``);
BLAKE2b's keyed mode is a MAC of its own, at under half the cost of HMAC-SHA256 here. The
consumer trusts a value only when the seal matches; anything else (no seal, another key,
a changed value) is validated in full, so a wrong or rotated key costs time, never safety.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from functools import cache, partial

from pydantic import SecretStr

HEADER = "pp-intake-seal"


class Sealer:
    def __init__(self, key: SecretStr) -> None:
        # BLAKE2b takes keys of up to 64 bytes: a longer one is hashed down to that first.
        secret = key.get_secret_value().encode()
        if len(secret) > hashlib.blake2b.MAX_KEY_SIZE:
            secret = hashlib.blake2b(secret).digest()
        self._mac = partial(hashlib.blake2b, key=secret, digest_size=32)

    def seal(self, value: bytes) -> tuple[str, bytes]:
        """The header that vouches for ``value``."""
        return HEADER, self._mac(value).digest()

    def vouches_for(
        self, value: bytes | None, headers: Sequence[tuple[str, bytes | None]] | None
    ) -> bool:
        """True when ``headers`` carry this key's seal over ``value``."""
        if value is None or not headers:
            return False
        for name, seal in headers:
            if name == HEADER and seal is not None:
                return hmac.compare_digest(seal, self._mac(value).digest())
        return False


@cache
def sealer_of(key: SecretStr) -> Sealer:
    """The sealer of ``key``, made once: single-event intake seals on every request."""
    return Sealer(key)
