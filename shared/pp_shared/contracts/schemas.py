"""Write the JSON Schemas of the wire format (generated from the models, never by hand).

``python -m pp_shared.contracts.schemas DIR`` writes them; ``--check`` fails when DIR is stale.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from pp_shared.contracts.breaches import BreachMessage
from pp_shared.contracts.events import EVENT_ADAPTER, EVENT_MODELS, TaggedEvent
from pp_shared.contracts.topics import Topic


def render() -> dict[str, str]:
    """File name -> schema text for every public schema."""
    schemas: dict[str, Any] = {
        "event.json": EVENT_ADAPTER.json_schema(),
        "tagged-event.json": TypeAdapter(TaggedEvent).json_schema(),
        "breach-message.json": BreachMessage.model_json_schema(),
    }
    for event_type, model in EVENT_MODELS.items():
        schemas[f"{event_type}.json"] = model.model_json_schema()
    schemas["topics.json"] = {t.name.lower(): t.value for t in Topic}
    out: dict[str, str] = {}
    for name, schema in schemas.items():
        if name != "topics.json":
            schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
        out[name] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--check", action="store_true", help="fail if the files are stale")
    args = parser.parse_args(argv)
    stale = []
    for name, text in render().items():
        path = args.directory / name
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            args.directory.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if stale:
        print(f"stale schemas in {args.directory}: {', '.join(stale)}; run `make schemas`")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
