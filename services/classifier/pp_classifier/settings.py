from pathlib import Path

from pydantic import Field, field_validator

from pp_shared.settings import ServiceSettings


class ClassifierSettings(ServiceSettings):
    port: int = 8082
    max_body_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        description="Largest request body the classifier reads (413); a taxonomy is ~0.1 MiB.",
    )
    taxonomy_refresh_seconds: float = Field(
        default=5.0,
        gt=0,
        description="How often to look for a newly published taxonomy or a newly promoted model.",
    )
    model_enabled: bool = Field(
        default=True,
        description="Tag with the statistical layer; when false only declared and rule tags.",
    )
    model_threshold: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="The model abstains ('unclassified') below this calibrated probability.",
    )
    model_balanced: bool = Field(
        default=True,
        description="Weight classes inversely to their size when training (rare clauses count).",
    )
    retrain_min_new_labels: int = Field(
        default=100,
        ge=1,
        description="Retrain once this many decision labels arrived since the last training.",
    )
    retrain_interval_seconds: float = Field(
        default=86_400.0,
        ge=0,
        description="Also retrain this long after the last training if any label arrived"
        " (0: only by label count).",
    )
    retrain_check_seconds: float = Field(
        default=30.0, gt=0, description="How often to check whether retraining is due."
    )
    holdout_percent: int = Field(
        default=20,
        ge=1,
        le=50,
        description="Share of texts (chosen by a stable hash of the text) kept out of every"
        " model's training to compare candidate and active model.",
    )
    decision_label_weight: int = Field(
        default=3,
        ge=1,
        le=20,
        description="How many times a moderator's label counts against one seed example.",
    )
    simulate_max_texts: int = Field(
        default=100_000,
        ge=100,
        description="A draft simulation re-tags at most this many escalations of its window;"
        " a larger window is sampled (by a hash of the escalation id) and says so.",
    )
    seed_model_cache: Path | None = Field(
        default=Path.home() / ".cache" / "policypulse" / "seed-models",
        description="A folder where a trained seed model is kept, by version, so the next"
        " fresh install on this machine loads it instead of training it again (about 40 s of"
        " CPU); empty: always train.",
    )
    restricted_terms_file: Path | None = Field(
        default=None,
        description="A JSON file outside the repository mapping lexicon placeholders such as"
        " [slur:race] to their spellings; read at start, never logged. Without it placeholder"
        " entries match nothing.",
    )

    @field_validator("seed_model_cache", "restricted_terms_file", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        # PP_SEED_MODEL_CACHE= (empty) means no folder, not the working directory.
        return None if value == "" else value
