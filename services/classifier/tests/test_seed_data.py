from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from pp_classifier.tagging.text import normalise
from pp_classifier.taxonomy.document import load_taxonomy
from pp_classifier.training.model import ModelError, held_out
from pp_classifier.training.seed_data import (
    check_labels,
    davidson_examples,
    functional_examples,
    read_label_map,
    seed_training_data,
)

SEED = load_taxonomy()


class TestSeedData:
    def test_every_clause_has_examples(self) -> None:
        counts = Counter(e.label for e in seed_training_data(SEED))
        assert set(counts) == {"none", *SEED.clause_ids()}
        assert min(counts.values()) >= 3

    def test_davidson_subset_is_mapped_through_the_label_map(self) -> None:
        counts = Counter(e.label for e in davidson_examples())
        assert counts == {"HATE.SLURS": 1000, "none": 8000}

    def test_no_packaged_tweet_is_in_the_held_out_share(self) -> None:
        assert not any(held_out(normalise(e.text), 20) for e in davidson_examples())

    def test_functional_cases_are_of_training_templates_only(self) -> None:
        examples = functional_examples()
        assert len(examples) == 15588  # 15,590 packaged cases, 2 with no target group mapped
        groups = {e.group for e in examples}
        assert all(g is not None and g.startswith("functional-template:") for g in groups)
        assert len(groups) == 287 - 60
        assert not any(held_out(g, 20) for g in groups if g is not None)

    def test_functional_labels_are_mapped_to_clauses(self) -> None:
        counts = Counter(e.label for e in functional_examples())
        assert counts["none"] == 4740
        assert counts["HATE.SLURS"] == 507
        assert counts["VBDA.THREATS"] == 518
        check_labels(counts, SEED)

    def test_unknown_labels_are_named(self) -> None:
        with pytest.raises(ModelError, match=r"HATE\.NOPE, X"):
            check_labels(["none", "HATE.SLURS", "X", "HATE.NOPE"], SEED)

    def test_label_map_must_map_strings_to_strings(self, tmp_path: Path) -> None:
        good = tmp_path / "good.json"
        good.write_text('{"0": "HATE.SLURS", "1": "none"}')
        assert read_label_map(good) == {"0": "HATE.SLURS", "1": "none"}
        bad = tmp_path / "bad.json"
        bad.write_text('{"0": 1}')
        with pytest.raises(ModelError, match="JSON object of strings"):
            read_label_map(bad)
        with pytest.raises(ModelError, match="cannot read label map"):
            read_label_map(tmp_path / "missing.json")
