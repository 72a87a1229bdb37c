"""Train the seed model once per machine, into ``PP_SEED_MODEL_CACHE``, before anything starts
a classifier (``make test``, ``make up``):

    python -m pp_classifier.training.seed_cache

A classifier starting on a fresh database then loads the seed model in about a second
instead of training it (about 40 s of CPU), within the readiness waits of ``policypulse up``
and of the end-to-end tests. With the model cached already this only checks it (seconds).
"""

from __future__ import annotations

import sys
import time

from pp_classifier.settings import ClassifierSettings
from pp_classifier.taxonomy.document import load_taxonomy
from pp_classifier.training.candidates import seed_candidate


def main() -> int:
    settings = ClassifierSettings()
    if settings.seed_model_cache is None:
        print("seed model: PP_SEED_MODEL_CACHE is empty, nothing to cache", file=sys.stderr)
        return 0
    started = time.perf_counter()
    candidate = seed_candidate(load_taxonomy(), settings, cache=settings.seed_model_cache)
    print(
        f"seed model {candidate.model.version} in {settings.seed_model_cache}"
        f" ({time.perf_counter() - started:.1f} s)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
