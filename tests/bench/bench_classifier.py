"""Classifier benchmark: tagging throughput on one core, and quality on the Davidson corpus.

    make bench-classifier
    python tests/bench/bench_classifier.py --help

Throughput: the production tagger (lexicon rules, then the seed model) on 400-character
texts, the process pinned to one CPU (so any BLAS threads share it), best of several rounds.
Two text sources: the load generator's word lists (what ``make bench`` sends) and real
tweets of the Davidson corpus joined to 400 characters.

Quality, hate versus not-hate on a stratified held-out fifth of the full Davidson corpus
(24,783 tweets; class 0 "hate speech" is hate, "offensive" and "neither" are not):

- ``davidson``: the service's model (same features, logistic regression and calibration)
  trained on the other four fifths alone, hate -> HATE.SLURS and the rest -> none, and
  ``davidson_balanced``, the same with class weights inversely proportional to class size;
- ``seed``: the shipped seed model, scored on held-out tweets it never saw (the packaged
  1,500-tweet subset it learnt from is left out).

A text counts as "hate" when its first tag is in the HATE area. Prints a report and writes
it as JSON (default ``bench-results/classifier.json``).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from pp_classifier.settings import ClassifierSettings
from pp_classifier.tagging.layers import LayeredTagger
from pp_classifier.tagging.rules import RuleTagger
from pp_classifier.taxonomy.document import Taxonomy, load_taxonomy
from pp_classifier.training.candidates import seed_candidate, training_params
from pp_classifier.training.evaluation import stratified_split
from pp_classifier.training.fit import train_model
from pp_classifier.training.model import ClauseModel, TrainingParams
from pp_classifier.training.seed_data import read_label_map
from pp_shared.loadgen import WORDS

REPO = Path(__file__).resolve().parents[2]
DAVIDSON = REPO.parent / "shared" / "data" / "davidson" / "labeled_data.csv"
LABEL_MAP = REPO / "services" / "classifier" / "pp_classifier" / "data" / "davidson_label_map.json"
HATE_CLASS = "0"
TEXT_CHARS = 400


def say(message: str) -> None:
    print(f"bench-classifier: {message}", file=sys.stderr, flush=True)


def pin_to_one_core() -> tuple[str, set[int] | None]:
    """Pin this process to one CPU; returns a description and the CPUs to restore."""
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity)", None
    allowed = os.sched_getaffinity(0)
    cpu = max(allowed)
    os.sched_setaffinity(0, {cpu})
    return f"pinned to CPU {cpu}", allowed


def filled_texts(pieces: Sequence[str], n: int, rng: random.Random) -> list[str]:
    """``n`` texts of TEXT_CHARS characters, each random ``pieces`` joined by spaces."""
    out = []
    for _ in range(n):
        parts: list[str] = []
        size = 0
        while size < TEXT_CHARS:
            piece = rng.choice(pieces)
            parts.append(piece)
            size += len(piece) + 1
        out.append(" ".join(parts)[:TEXT_CHARS])
    return out


def throughput(
    tagger: LayeredTagger, texts: list[str], rounds: int, batch: int
) -> tuple[float, float]:
    """Best texts per wall-clock second and per CPU second over ``rounds`` passes, in
    batches as the consumer tags them. On a shared machine the CPU-second figure is the
    per-core rate; the wall-clock one also counts time other processes took the core."""
    tagger.tag_texts(texts[:batch])  # warm caches and lazy imports
    best_wall = best_cpu = 0.0
    for _ in range(rounds):
        wall, cpu = time.perf_counter(), time.process_time()
        for i in range(0, len(texts), batch):
            tagger.tag_texts(texts[i : i + batch])
        best_wall = max(best_wall, len(texts) / (time.perf_counter() - wall))
        best_cpu = max(best_cpu, len(texts) / (time.process_time() - cpu))
    return best_wall, best_cpu


def read_davidson(path: Path) -> tuple[list[str], list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [r["tweet"] for r in rows], [r["class"] for r in rows]


def binary_scores(tagger: LayeredTagger, texts: list[str], gold_hate: list[bool]) -> dict[str, Any]:
    start = time.perf_counter()
    predicted = [tags[0].area == "HATE" for tags in tagger.tag_texts(texts)]
    seconds = time.perf_counter() - start
    tp = sum(g and p for g, p in zip(gold_hate, predicted, strict=True))
    fp = sum(p and not g for g, p in zip(gold_hate, predicted, strict=True))
    fn = sum(g and not p for g, p in zip(gold_hate, predicted, strict=True))
    tn = len(texts) - tp - fp - fn

    def f1(tp_: int, fp_: int, fn_: int) -> tuple[float, float, float]:
        precision = tp_ / (tp_ + fp_) if tp_ + fp_ else 0.0
        recall = tp_ / (tp_ + fn_) if tp_ + fn_ else 0.0
        both = precision + recall
        return precision, recall, (2 * precision * recall / both if both else 0.0)

    hate_p, hate_r, hate_f1 = f1(tp, fp, fn)
    _, _, not_f1 = f1(tn, fn, fp)
    return {
        "texts": len(texts),
        "hate_support": tp + fn,
        "macro_f1": round((hate_f1 + not_f1) / 2, 4),
        "hate_precision": round(hate_p, 4),
        "hate_recall": round(hate_r, 4),
        "hate_f1": round(hate_f1, 4),
        "confusion": {"tp": tp, "fp": fp, "fn": fn, "tn": tn},
        "texts_per_second": round(len(texts) / seconds),
    }


def train_with_davidson(
    taxonomy: Taxonomy, texts: list[str], labels: list[str], params: TrainingParams
) -> ClauseModel:
    # Davidson alone: with the 48-clause seed data added, the same fit takes 20 minutes on
    # one core, and the seed model already shows what the mix does.
    return train_model(
        texts,
        labels,
        taxonomy_version=taxonomy.version,
        clause_order=taxonomy.clause_ids(),
        name="davidson",
        params=params,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--texts", type=int, default=20_000, help="texts per throughput round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=500, help="texts per tagging call")
    parser.add_argument("--davidson", type=Path, default=DAVIDSON)
    parser.add_argument("--test-fraction", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=2017, help="split and sampling seed")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--out", type=Path, default=Path("bench-results/classifier.json"))
    args = parser.parse_args(argv)

    pinned, allowed = pin_to_one_core()
    say(pinned)
    taxonomy = load_taxonomy()
    # The service's default settings, without reading the environment: the shipped seed model.
    defaults = ClassifierSettings.model_construct()
    params = training_params(defaults)
    rules = RuleTagger.from_taxonomy(taxonomy)
    started = time.perf_counter()
    seed = seed_candidate(taxonomy, defaults)
    seed_seconds = time.perf_counter() - started
    say(f"seed model {seed.model.version} trained in {seed_seconds:.1f} s")
    seed_tagger = LayeredTagger(rules, seed.model)
    tweets, classes = read_davidson(args.davidson)
    rng = random.Random(args.seed)
    sources = {
        "generated": filled_texts(WORDS, args.texts, rng),
        "davidson_tweets": filled_texts(tweets, args.texts, rng),
    }
    result: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "cpu": platform.processor() or platform.machine(),
            "cpus_visible": os.cpu_count(),
            "affinity": pinned,
            "load_average_1min_at_start": round(os.getloadavg()[0], 2),
        },
        "seed_model": {"version": seed.model.version, "train_seconds": round(seed_seconds, 2)},
        "throughput_texts_per_cpu_second": {},
        "throughput_texts_per_wall_second": {},
    }
    layers = {
        "rules+model": seed_tagger,
        "rules": LayeredTagger(rules),
    }
    for source, texts in sources.items():
        for name, tagger in layers.items():
            wall, cpu = throughput(tagger, texts, args.rounds, args.batch)
            result["throughput_texts_per_cpu_second"][f"{name} ({source})"] = round(cpu)
            result["throughput_texts_per_wall_second"][f"{name} ({source})"] = round(wall)
            say(
                f"throughput {name} on {source} 400-char texts: {cpu:,.0f} texts per CPU"
                f" second ({wall:,.0f} per wall-clock second)"
            )
    result["machine"]["load_average_1min_after_throughput"] = round(os.getloadavg()[0], 2)
    if allowed is not None:
        os.sched_setaffinity(0, allowed)  # training may use every core

    if not args.skip_quality:
        mapping = read_label_map(LABEL_MAP)
        train_rows, test_rows = stratified_split(
            classes, test_fraction=args.test_fraction, seed=args.seed
        )
        test_texts = [tweets[i] for i in test_rows]
        test_hate = [classes[i] == HATE_CLASS for i in test_rows]
        train_texts = [tweets[i] for i in train_rows]
        train_labels = [mapping[classes[i]] for i in train_rows]
        quality: dict[str, Any] = {}
        for name, balanced in (("davidson", False), ("davidson_balanced", True)):
            started = time.perf_counter()
            model = train_with_davidson(
                taxonomy, train_texts, train_labels, replace(params, balanced=balanced)
            )
            train_seconds = time.perf_counter() - started
            say(f"{name} model trained in {train_seconds:.1f} s")
            scores = binary_scores(LayeredTagger(rules, model), test_texts, test_hate)
            scores["train_texts"] = len(train_rows)
            scores["train_seconds"] = round(train_seconds, 1)
            quality[name] = scores
        unseen = ~seed.model.seen_in_training(test_texts)
        seed_texts = [t for t, keep in zip(test_texts, unseen, strict=True) if keep]
        seed_hate = [h for h, keep in zip(test_hate, unseen, strict=True) if keep]
        seed_scores = binary_scores(seed_tagger, seed_texts, seed_hate)
        seed_scores["left_out_seen_in_training"] = int((~unseen).sum())
        quality["seed"] = seed_scores
        result["davidson_hate_vs_not"] = quality
        for name, scores in result["davidson_hate_vs_not"].items():
            say(
                f"{name}: macro-F1 {scores['macro_f1']:.3f}, hate precision"
                f" {scores['hate_precision']:.3f}, hate recall {scores['hate_recall']:.3f}"
                f" on {scores['texts']} held-out tweets ({scores['hate_support']} hate)"
            )

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
