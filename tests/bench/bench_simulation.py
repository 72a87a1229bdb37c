"""Draft-taxonomy simulation benchmark: 100,000 escalation texts stored over 30 days in a
private embedded Postgres (classifier schema), re-tagged with a draft (the seed taxonomy with
one lexicon term moved to another clause) and the seed model, as ``POST
/v1/taxonomy/simulate`` does, without HTTP in between.

Texts are the load generator's 400-character texts (``pp_shared.devstack.loadgen``), none of them
declared (every one is re-tagged; ``--declared`` keeps the generator's declared clauses, which
the simulation leaves out).
The seed model is trained first and not timed. The figure is the simulation's wall time,
reading the window included, on this machine as it is (other work included).

    .venv/bin/python tests/bench/bench_simulation.py --texts 100000
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from pp_classifier.settings import ClassifierSettings
from pp_classifier.tagging.layers import build_layers
from pp_classifier.tagging.rules import RuleTagger
from pp_classifier.taxonomy import simulation
from pp_classifier.taxonomy.document import Taxonomy, load_taxonomy
from pp_classifier.training.candidates import seed_candidate
from pp_shared.db import apply_migrations, create_pool
from pp_shared.devstack.loadgen import Generator, Profile
from pp_shared.testing.bench import private_postgres, write_report


def say(msg: str) -> None:
    print(f"bench-simulation: {msg}", flush=True)


def draft_of(taxonomy: Taxonomy) -> Taxonomy:
    """The taxonomy with its first clause's first English term moved to its second clause."""
    data: dict[str, Any] = taxonomy.model_dump(mode="json")
    data["version"] = "2099.12.0"
    first, second = data["areas"][0]["clauses"][:2]
    term = first["lexicon"]["en"].pop(0)
    second["lexicon"]["en"].append(term)
    return Taxonomy.model_validate(data)


async def run(args: argparse.Namespace, db_url: str) -> dict[str, Any]:
    pool = await create_pool(db_url)
    try:
        await apply_migrations(
            pool, schema="classifier", package="pp_classifier", shared=["dead_letters"]
        )
        now = datetime.now(UTC)
        start = now - timedelta(days=args.days)
        gen = Generator(Profile(seed=args.seed, start=start, span=timedelta(days=args.days)))
        rng = random.Random(args.seed)
        texts, tags = [], []
        for i in range(args.texts):
            created = gen.escalation_events()[0]
            at = start + timedelta(days=args.days) * (i + rng.random()) / args.texts
            esc = created["escalation_id"]
            # Every text re-tagged (none declared): the worst case for the target.
            method = "declared" if args.declared and created.get("suggested_clause_id") else "model"
            texts.append((esc, created["text_excerpt"], created["language"], at))
            tags.append((esc, esc, orjson.dumps([{"method": method}]).decode()))
        await pool.execute(
            "INSERT INTO classifier.texts (escalation_id, text, language, stored_at)"
            " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[])",
            *(list(c) for c in zip(*texts, strict=True)),
        )
        await pool.execute(
            "INSERT INTO classifier.tags (event_id, escalation_id, tags)"
            " SELECT e, s, t::jsonb FROM unnest($1::text[], $2::text[], $3::text[]) AS u(e, s, t)",
            *(list(c) for c in zip(*tags, strict=True)),
        )
        await pool.execute("ANALYZE")
        say(f"stored {args.texts:,} texts over {args.days} days")
        taxonomy = load_taxonomy()
        began = time.perf_counter()
        model = seed_candidate(taxonomy, ClassifierSettings.model_construct()).model
        say(f"seed model trained in {time.perf_counter() - began:.1f} s (not timed below)")
        current = build_layers(taxonomy, RuleTagger.from_taxonomy(taxonomy), model).tagger

        async def progress(examined: int, total: int) -> None:
            if examined == total or examined % 20_000 == 0:
                say(f"  re-tagged {examined:,} of {total:,}")

        run_ = simulation.Run(
            draft=draft_of(taxonomy),
            current=current,
            start=now - timedelta(days=args.days),
            end=now + timedelta(seconds=1),
            max_texts=args.max_texts,
            examples=5,
        )
        began = time.perf_counter()
        result = await simulation.simulate(pool, run_, progress=progress)
        seconds = time.perf_counter() - began
    finally:
        await pool.close()
    say(
        f"simulated in {seconds:.1f} s: stored {result.stored:,}, declared {result.declared:,},"
        f" examined {result.examined:,}, changed {result.changed:,}, sampled {result.sampled}"
    )
    return {
        "seconds": round(seconds, 1),
        "stored": result.stored,
        "declared": result.declared,
        "examined": result.examined,
        "changed": result.changed,
        "sampled": result.sampled,
        "texts_per_second": round(result.examined / seconds),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--texts", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--max-texts", type=int, default=100_000, help="the sample size")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--declared", action="store_true", help="keep declared clauses")
    parser.add_argument("--out", type=Path, default=Path("bench-results/simulation.json"))
    args = parser.parse_args()
    with private_postgres("simulation") as db_url:
        results = asyncio.run(run(args, db_url))
    write_report(args.out, "simulation", args, results)
    say(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
