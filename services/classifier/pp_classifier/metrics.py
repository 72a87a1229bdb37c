from prometheus_client import Counter

TAGS = Counter(
    "pp_classifier_tags_total",
    "Tags attached to escalations, by area and method.",
    ["area", "method"],
)
