"""``policypulse`` commands for everyday work against the public API (through the gateway):
events, insights, rules, breaches, dead letters and models. Written with click and rich; the
command line (``pp_shared.devstack.cli``) imports this package only when one of them runs."""

COMMANDS: dict[str, str] = {
    "events": "send events from a JSON, NDJSON or CSV file, in batches",
    "insights": "trends, performance cards, movers and drill-downs (tables or CSV)",
    "rules": "list, apply and preview alert rules",
    "breaches": "list, acknowledge and silence breaches",
    "dead-letters": "list and replay dead letters of ingest, the classifier or insights",
    "models": "list clause models and retrain",
}
"""Each command's name and one-line help, as ``policypulse --help`` lists them."""
