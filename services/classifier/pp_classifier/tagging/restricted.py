"""The restricted term list a deployment supplies: the real spellings behind lexicon
placeholders such as ``[slur:race]``.

The list is kept out of the repository and out of every log and error message: a file (named
by ``PP_RESTRICTED_TERMS_FILE``) holding one JSON object from placeholder to spellings,
``{"[slur:race]": ["...", "..."]}``, read once at start. Rule hits report the placeholder,
never the word (:class:`~pp_classifier.tagging.rules.RuleTagger`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

RestrictedTerms = Mapping[str, tuple[str, ...]]
_PLACEHOLDER = re.compile(r"^\[[^\[\]]+\]$")


class RestrictedTermsError(ValueError):
    """A restricted term file that cannot be used; the message never quotes its content."""


def load_restricted_terms(path: Path | None) -> RestrictedTerms:
    """The placeholder -> spellings map of ``path``; empty without a file."""
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RestrictedTermsError(
            f"cannot read the restricted term file {path}: {exc.strerror}"
        ) from None
    except ValueError:
        # The decoder's message quotes the text around the error: it is not repeated.
        raise RestrictedTermsError(f"the restricted term file {path} is not JSON") from None
    if not isinstance(data, dict):
        raise RestrictedTermsError(f"the restricted term file {path} must be a JSON object")
    out: dict[str, tuple[str, ...]] = {}
    for number, (key, spellings) in enumerate(data.items(), start=1):
        if not isinstance(key, str) or not _PLACEHOLDER.match(key):
            raise RestrictedTermsError(
                f"the restricted term file {path}: key {number} is not a placeholder like"
                " [slur:race]"
            )
        if not isinstance(spellings, list) or not all(
            isinstance(s, str) and s.strip() for s in spellings
        ):
            raise RestrictedTermsError(
                f"the restricted term file {path}: {key} must map to a list of non-empty strings"
            )
        out[key] = tuple(spellings)
    return out


def describe(terms: RestrictedTerms) -> dict[str, int]:
    """Sizes for the start-up log: how many placeholders and spellings, never which."""
    return {
        "restricted_placeholders": len(terms),
        "restricted_spellings": sum(len(v) for v in terms.values()),
    }
