from prometheus_client import Counter, Histogram

TAGS = Counter(
    "pp_classifier_tags_total",
    "Tags attached to escalations, by area and method.",
    ["area", "method"],
)

MODEL_TRAININGS = Counter(
    "pp_classifier_model_trainings_total",
    "Models trained, by outcome (seed, promoted, rejected; failed: the training raised).",
    ["outcome"],
)
# Each outcome exists from the start at 0, so the first rejection shows as an increase.
for _outcome in ("seed", "promoted", "rejected", "failed"):
    MODEL_TRAININGS.labels(_outcome)
TRAINING_SECONDS = Histogram(
    "pp_classifier_training_seconds",
    "Time to train and evaluate one model.",
    buckets=(1, 2, 5, 10, 20, 40, 80, 160, 320),
)
LANGUAGE_FALLBACK = Counter(
    "pp_classifier_language_fallback_total",
    "Escalations in a language no lexicon covers (rules still run; the model is what knows them).",
)
