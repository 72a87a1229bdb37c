"""``policypulse classifier eval --functional FILE.csv``: a HateCheck-style report.

Tags every case of a HateCheck or Multilingual HateCheck file with the rules and a model (the
seed model as a fresh install trains it, or ``--model``) and prints hate precision, recall
and F1 per language and accuracy per functionality and per target group, with counts.

Only cases the model never trained on count: those of template groups in the held-out share
(the packaged data holds none of them), less any whose text the model trained on (a decision
label of a running classifier's model). ``--include-seen`` scores every case and says how
many were training cases. Texts are never printed.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import IO

from pp_classifier.cli.offline_tagging import CliError, build_tagger, say, taxonomy_of
from pp_classifier.training.corpora import (
    PACKAGED_HOLDOUT_PERCENT,
    read_functional_csv,
    template_held_out,
)
from pp_classifier.training.functional import FunctionalReport, functional_report, tagged_hateful
from pp_classifier.training.model import ModelError

BATCH = 500


def run_functional(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except (CliError, ModelError) as exc:
        say(str(exc))
        return 2


def _run(args: argparse.Namespace) -> int:
    taxonomy = taxonomy_of(args)
    cases = read_functional_csv(args.functional)
    if not cases:
        raise CliError(f"{args.functional}: no data rows")
    tagger = build_tagger(taxonomy, with_model=args.layers != "rules", model_file=args.model)
    trained_group = [not template_held_out(c.template, PACKAGED_HOLDOUT_PERCENT) for c in cases]
    seen = (
        tagger.model.seen_in_training([c.text for c in cases]).tolist()
        if tagger.model is not None
        else [False] * len(cases)
    )
    training = [g or s for g, s in zip(trained_group, seen, strict=True)]
    scored = [c for c, t in zip(cases, training, strict=True) if args.include_seen or not t]
    if not scored:
        raise CliError(f"{args.functional}: every case is of a template the model trained on")
    predicted: list[bool] = []
    for start in range(0, len(scored), BATCH):
        batch = [c.text for c in scored[start : start + BATCH]]
        predicted += [tagged_hateful(tags) for tags in tagger.tag_texts(batch)]
    report = functional_report(scored, predicted)
    out = sys.stdout
    print(f"data: {args.functional} ({len(cases)} cases)", file=out)
    print(
        f"tagger: layers={args.layers} taxonomy={taxonomy.version} model={tagger.model_version}",
        file=out,
    )
    held = len(cases) - sum(training)
    if args.include_seen:
        print(
            f"scored: all {len(cases)} cases, of which {sum(training)} are training cases"
            f" ({sum(trained_group)} of template groups in the seed data, {sum(seen)} texts the"
            f" model trained on); only the {held} others are held out",
            file=out,
        )
    else:
        print(
            f"scored: {held} cases of held-out template groups only; left out"
            f" {sum(training)} training cases ({sum(trained_group)} of template groups in the"
            f" seed data, {sum(seen)} texts the model trained on)",
            file=out,
        )
    print_report(report, out)
    if args.json:
        payload = {
            "file": str(args.functional),
            "taxonomy_version": taxonomy.version,
            "model_version": tagger.model_version,
            "layers": args.layers,
            "cases": len(cases),
            "scored": len(scored),
            "training_cases": sum(training),
            "held_out_only": not args.include_seen,
            **report.to_json(),
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return 0


def print_report(report: FunctionalReport, out: IO[str]) -> None:
    """The report as text: hate scores, then accuracies worst first."""
    o = report.overall
    print(
        f"\nhate (first tag in HATE, or a threat or incitement): F1 {o.f1:.3f}, precision"
        f" {o.precision:.3f}, recall {o.recall:.3f}, accuracy {o.accuracy:.3f}"
        f" ({o.hateful} hateful of {o.cases})",
        file=out,
    )
    if len(report.languages) > 1:
        for language, s in report.languages.items():
            print(
                f"  {language}: F1 {s.f1:.3f}, precision {s.precision:.3f}, recall"
                f" {s.recall:.3f} ({s.hateful} hateful of {s.cases})",
                file=out,
            )
    print("\n== per functionality (worst first) ==", file=out)
    for row in report.functionalities:
        print(f"  {row.line()}", file=out)
    print("\n== per target group (worst first) ==", file=out)
    for row in report.targets:
        print(f"  {row.line()}", file=out)
