"""The area stage: its labels, how its opinion is averaged in, training and serialisation."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy.sparse import csr_matrix

from pp_classifier.training.fit import train_model
from pp_classifier.training.linear import AreaStage, LinearWeights, area_labels
from pp_classifier.training.model import ClauseModel, ModelError

from .test_model import LABELS, PARAMS, SEED, TEXTS

CLAUSES = ["none", "HATE.A", "HATE.B", "VBDA.X"]


def stage_saying(area_p: list[float]) -> AreaStage:
    """An area stage whose probabilities for a row with one feature of value 1 are area_p."""
    coef = np.log(np.array([area_p], dtype=np.float32))
    weights = LinearWeights(coef, np.zeros(len(area_p), dtype=np.float32))
    return AreaStage(("none", "HATE", "VBDA"), weights, 1.0)


def test_area_labels_are_none_then_each_area_in_order() -> None:
    assert area_labels(["none", "VBDA.THREATS", "HATE.SLURS", "VBDA.INCITEMENT"]) == [
        "none",
        "VBDA",
        "HATE",
    ]


def test_each_clause_gets_the_mean_of_both_opinions() -> None:
    clause_p = np.array([[0.1, 0.6, 0.2, 0.1]], dtype=np.float32)
    one_feature = csr_matrix(np.ones((1, 1), dtype=np.float32))
    mixed = stage_saying([0.5, 0.4, 0.1]).combine(one_feature, clause_p, CLAUSES)
    # none: (0.1 + 0.5) / 2; HATE's 0.4 is shared 3:1 as the clause model shares it (0.3,
    # 0.1); VBDA's 0.1 all goes to its one clause.
    assert mixed[0].tolist() == pytest.approx([0.3, 0.45, 0.15, 0.1])
    assert float(mixed.sum()) == pytest.approx(1.0)


def test_training_with_the_area_stage_keeps_the_answers_coherent() -> None:
    params = replace(PARAMS, area_stage=True)
    model = train_model(TEXTS, LABELS, taxonomy_version=SEED.version, name="t", params=params)
    assert model.area_stage is not None
    # Without a clause order, clauses (and so their areas) come sorted.
    assert model.area_stage.labels == ("none", "INA", "VBDA")
    probabilities = model.probabilities(TEXTS)
    assert probabilities.sum(axis=1) == pytest.approx(np.ones(len(TEXTS)))
    # Trained on these texts, both opinions agree on every one of them.
    assert [p.clause_id for p in model.predict(TEXTS)] == [
        label if label != "none" else "unclassified" for label in LABELS
    ]
    assert "area_stage" in model.params.to_json()
    assert (
        model.version
        != train_model(
            TEXTS, LABELS, taxonomy_version=SEED.version, name="t", params=PARAMS
        ).version
    )

    loaded = ClauseModel.from_bytes(model.to_bytes())
    assert loaded.metadata() == model.metadata()
    assert np.array_equal(loaded.probabilities(TEXTS), probabilities)


def test_an_area_stage_missing_a_clause_area_is_refused() -> None:
    model = train_model(TEXTS, LABELS, taxonomy_version=SEED.version, name="t", params=PARAMS)
    weights = LinearWeights(
        np.zeros((len(model.vocabulary), 2), np.float32), np.zeros(2, np.float32)
    )
    names = "version taxonomy_version labels params vocabulary weights temperature"
    fields = {name: getattr(model, name) for name in names.split()}
    with pytest.raises(ModelError, match="area stage"):
        ClauseModel(
            **fields,
            training_digests=model.training_digests,
            class_counts=model.class_counts,
            area_stage=AreaStage(("none", "VBDA"), weights, 1.0),
        )


def test_a_model_with_an_area_stage_says_format_2_and_one_without_says_1() -> None:
    flat = train_model(TEXTS, LABELS, taxonomy_version=SEED.version, name="t", params=PARAMS)
    staged = train_model(
        TEXTS,
        LABELS,
        taxonomy_version=SEED.version,
        name="t",
        params=replace(PARAMS, area_stage=True),
    )
    assert flat.metadata()["format_version"] == 1
    assert staged.metadata()["format_version"] == 2
    assert ClauseModel.from_bytes(flat.to_bytes()).area_stage is None
