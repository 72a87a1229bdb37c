"""The policy taxonomy: versioned data validated on load, and its mapping to the EU DSA."""

from __future__ import annotations

from pp_classifier.taxonomy.model import (
    REQUIRED_LANGUAGES,
    Area,
    Clause,
    Taxonomy,
    TaxonomyDiff,
    TaxonomyLoadError,
    diff,
    load_taxonomy,
    read_taxonomy_data,
    seed_versions,
)

__all__ = [
    "REQUIRED_LANGUAGES",
    "Area",
    "Clause",
    "Taxonomy",
    "TaxonomyDiff",
    "TaxonomyLoadError",
    "diff",
    "load_taxonomy",
    "read_taxonomy_data",
    "seed_versions",
]
