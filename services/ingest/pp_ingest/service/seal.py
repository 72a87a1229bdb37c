"""A seal on raw-topic messages that intake has validated, so the raw consumer need not
validate them again.

Producers may write straight to the raw topic, so a header alone proves nothing: the seal is
an HMAC-SHA256 of the message value under a key only ingest holds (``PP_INTAKE_KEY``). The
consumer trusts a value only when the seal matches; anything else (no seal, another key,
a changed value) is validated in full, so a wrong or rotated key costs time, never safety.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from pydantic import SecretStr

HEADER = "pp-intake-seal"


class Sealer:
    def __init__(self, key: SecretStr) -> None:
        self._key = key.get_secret_value().encode()

    def seal(self, value: bytes) -> tuple[str, bytes]:
        """The header that vouches for ``value``."""
        return HEADER, hmac.digest(self._key, value, hashlib.sha256)

    def vouches_for(
        self, value: bytes | None, headers: Sequence[tuple[str, bytes | None]] | None
    ) -> bool:
        """True when ``headers`` carry this key's seal over ``value``."""
        if value is None or not headers:
            return False
        for name, seal in headers:
            if name == HEADER and seal is not None:
                return hmac.compare_digest(seal, hmac.digest(self._key, value, hashlib.sha256))
        return False
