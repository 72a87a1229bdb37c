"""What the tests of learning share: a text only the model can answer, a classifier that
retrains as soon as one new label arrives, and that text as an escalation on the wire."""

from __future__ import annotations

import orjson

from pp_classifier.settings import ClassifierSettings
from pp_classifier.tagging.text import normalise
from pp_classifier.training.model import held_out
from pp_shared.testing.samples import escalation

TEXT = "my cousin says the factory keeps everyone's papers until the debt is paid"
"""No lexicon term of the seed taxonomy occurs in it, and its hash puts it in the training
share (``retraining_at_once`` checks it), so only the model answers it, and it can learn the
answer."""


def retraining_at_once(settings: ClassifierSettings) -> ClassifierSettings:
    """``settings`` with the taxonomy and retraining checks every 0.1 s and one new label
    enough to retrain."""
    assert not held_out(normalise(TEXT), settings.holdout_percent)
    return settings.model_copy(
        update={
            "taxonomy_refresh_seconds": 0.1,
            "retrain_check_seconds": 0.1,
            "retrain_min_new_labels": 1,
        }
    )


def unclassified(n: int) -> tuple[bytes, bytes]:
    """Escalation ``esc-<n>`` of ``TEXT`` with no declared clause, as a record (key, value)."""
    body = escalation(
        event_id=f"e{n}",
        escalation_id=f"esc-{n}",
        suggested_clause_id=None,
        text_excerpt=TEXT,
        language="en",
    )
    return f"esc-{n}".encode(), orjson.dumps(body)
