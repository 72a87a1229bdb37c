"""What ``policypulse classifier eval`` and ``tag`` do: evaluate the tagger on a labelled CSV,
or tag a CSV.

Both work offline, from a clean clone: they build the rules from the packaged (or a given)
taxonomy and train the seed model from the packaged data, as a fresh install does;
``--model`` uses a model downloaded from a running classifier instead. The command line
itself is in :mod:`pp_classifier.cli.classifier_commands`.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from pp_classifier.settings import ClassifierSettings
from pp_classifier.tagging.layers import LayeredTagger
from pp_classifier.tagging.rules import RuleTagger
from pp_classifier.taxonomy.document import Taxonomy, TaxonomyLoadError, load_taxonomy
from pp_classifier.training.candidates import seed_candidate
from pp_classifier.training.evaluation import Evaluation, LevelReport, evaluate
from pp_classifier.training.model import ClauseModel, ModelError
from pp_classifier.training.seed_data import check_labels, read_label_map

CHUNK = 4096
# Texts past the tagger's limit are truncated anyway; the csv module's default field limit
# (128 KiB) would instead stop the whole file at the first long row.
FIELD_LIMIT = 64 * 1024 * 1024


class CliError(Exception):
    """A problem with the user's input, reported in one line."""


def say(message: str) -> None:
    print(f"policypulse classifier: {message}", file=sys.stderr, flush=True)


def taxonomy_of(args: argparse.Namespace) -> Taxonomy:
    try:
        return load_taxonomy(args.taxonomy) if args.taxonomy else load_taxonomy()
    except TaxonomyLoadError as exc:
        raise CliError(str(exc)) from exc


def build_tagger(
    taxonomy: Taxonomy, *, with_model: bool = True, model_file: Path | None = None
) -> LayeredTagger:
    """Rules of ``taxonomy`` and a model: the one in ``model_file``, else the seed model
    trained now, as a fresh install tags."""
    rules = RuleTagger.from_taxonomy(taxonomy)
    if not with_model:
        return LayeredTagger(rules)
    if model_file is not None:
        try:
            model = ClauseModel.from_bytes(model_file.read_bytes())
        except OSError as exc:
            raise CliError(f"cannot read {model_file}: {exc.strerror}") from exc
        except ModelError as exc:
            raise CliError(f"{model_file}: {exc}") from exc
        say(f"model {model.version} (taxonomy {model.taxonomy_version}) loaded")
        return LayeredTagger(rules, model, clauses=taxonomy.clause_ids())
    started = time.perf_counter()
    # The service's default settings, without reading the environment: as a fresh install.
    defaults = ClassifierSettings.model_construct()
    candidate = seed_candidate(taxonomy, defaults, cache=defaults.seed_model_cache)
    say(
        f"seed model {candidate.model.version} ({len(candidate.data.train_texts)} training"
        f" texts) ready in {time.perf_counter() - started:.1f} s (trained, or loaded from"
        f" {defaults.seed_model_cache})"
    )
    return LayeredTagger(rules, candidate.model, clauses=taxonomy.clause_ids())


def read_rows(path: Path, columns: Sequence[str]) -> Iterator[tuple[int, list[str]]]:
    """(row number, values of ``columns``) for every data row; row 1 follows the header."""
    csv.field_size_limit(FIELD_LIMIT)
    try:
        handle = path.open(encoding="utf-8", errors="replace", newline="")
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from exc
    with handle:
        reader = csv.DictReader(handle)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            found = ", ".join(reader.fieldnames or []) or "none"
            raise CliError(f"{path}: no column {', '.join(missing)} (columns: {found})")
        for number, row in enumerate(reader, start=1):
            yield number, [row[c] or "" for c in columns]


def run_eval(args: argparse.Namespace) -> int:
    try:
        return _run_eval(args)
    except (CliError, ModelError) as exc:
        say(str(exc))
        return 2


def _run_eval(args: argparse.Namespace) -> int:
    missing = [
        option
        for option, value in (
            ("--data", args.data),
            ("--text-column", args.text_column),
            ("--label-column", args.label_column),
        )
        if value is None
    ]
    if missing:
        raise CliError(f"eval needs {', '.join(missing)} (or --functional FILE.csv)")
    taxonomy = taxonomy_of(args)
    mapping = read_label_map(args.label_map) if args.label_map else None
    texts: list[str] = []
    labels: list[str] = []
    unmapped: set[str] = set()
    for _, (text, raw) in read_rows(args.data, [args.text_column, args.label_column]):
        label = raw.strip()
        if mapping is not None:
            if label not in mapping:
                unmapped.add(label)
                continue
            label = mapping[label]
        texts.append(text)
        labels.append(label)
    if unmapped:
        raise CliError(f"labels missing from the label map: {', '.join(sorted(unmapped))}")
    if not texts:
        raise CliError(f"{args.data}: no data rows")
    check_labels(labels, taxonomy)
    tagger = build_tagger(taxonomy, with_model=args.layers != "rules", model_file=args.model)
    skipped = 0
    if tagger.model is not None and not args.include_seen:
        seen = tagger.model.seen_in_training(texts)
        skipped = int(seen.sum())
        texts = [t for t, s in zip(texts, seen.tolist(), strict=True) if not s]
        labels = [x for x, s in zip(labels, seen.tolist(), strict=True) if not s]
    predictor = tagger.model if args.layers == "model" and tagger.model else tagger
    result = evaluate(predictor, texts, labels)
    out = sys.stdout
    print(f"data: {args.data} ({len(texts)} rows scored", file=out, end="")
    print(f"; {skipped} rows the model was trained on left out)" if skipped else ")", file=out)
    print(
        f"tagger: layers={args.layers} taxonomy={taxonomy.version} model={tagger.model_version}",
        file=out,
    )
    _print_level("areas", result.areas, out)
    _print_level("clauses", result.clauses, out)
    print(
        f"\nthroughput: {result.texts_per_second:,.0f} texts/s"
        f" ({result.texts} texts in {result.seconds:.2f} s, one process)",
        file=out,
    )
    print(f"calibration error (ECE, 10 bins): {result.calibration_error:.4f}", file=out)
    if args.json:
        args.json.write_text(json.dumps(report_json(result), indent=2) + "\n", encoding="utf-8")
    return 0


def _print_level(name: str, report: LevelReport, out: IO[str]) -> None:
    width = max([len(name), *(len(x) for x in report.labels)])
    print(f"\n== per {name[:-1]} ==", file=out)
    print(f"{name:<{width}}  precision  recall      f1  support", file=out)
    for row in report.per_class:
        print(
            f"{row.label:<{width}}  {row.precision:9.3f}  {row.recall:6.3f}  {row.f1:6.3f}"
            f"  {row.support:7d}",
            file=out,
        )
    support = sum(row.support for row in report.per_class)
    print(
        f"{'macro avg':<{width}}  {_mean(report, 'precision'):9.3f}"
        f"  {_mean(report, 'recall'):6.3f}  {report.macro_f1:6.3f}  {support:7d}",
        file=out,
    )
    print(f"accuracy {report.accuracy:.3f}", file=out)
    print(f"\nconfusion matrix ({name}; rows gold, columns predicted):", file=out)
    keys = [str(i) for i in range(len(report.labels))]
    cell = max(5, *(len(f"{v}") for r in report.confusion for v in r))
    print(" " * (width + 5) + " ".join(f"{k:>{cell}}" for k in keys), file=out)
    for key, label, counts in zip(keys, report.labels, report.confusion, strict=True):
        values = " ".join(f"{v:>{cell}}" for v in counts)
        print(f"{key:>3}  {label:<{width}}{values}", file=out)


def _mean(report: LevelReport, field: str) -> float:
    rows = report.per_class
    return sum(getattr(r, field) for r in rows) / len(rows) if rows else 0.0


def report_json(result: Evaluation) -> dict[str, Any]:
    def level(report: LevelReport) -> dict[str, Any]:
        return {
            "labels": list(report.labels),
            "macro_f1": report.macro_f1,
            "accuracy": report.accuracy,
            "per_class": [
                {
                    "label": r.label,
                    "precision": r.precision,
                    "recall": r.recall,
                    "f1": r.f1,
                    "support": r.support,
                }
                for r in report.per_class
            ],
            "confusion": [list(row) for row in report.confusion],
        }

    return {
        "texts": result.texts,
        "seconds": result.seconds,
        "texts_per_second": result.texts_per_second,
        "calibration_error": result.calibration_error,
        "areas": level(result.areas),
        "clauses": level(result.clauses),
    }


def run_tag(args: argparse.Namespace) -> int:
    try:
        return _run_tag(args)
    except CliError as exc:
        say(str(exc))
        return 2


def _run_tag(args: argparse.Namespace) -> int:
    taxonomy = taxonomy_of(args)
    rows = read_rows(args.data, [args.text_column])
    next_row = _peek(rows)  # a wrong column fails before the model is trained
    tagger = build_tagger(taxonomy, model_file=args.model)
    output = args.output.open("w", encoding="utf-8") if args.output else sys.stdout
    written = 0
    started = time.perf_counter()
    try:
        chunk: list[tuple[int, str]] = []
        for number, (text,) in _chain(next_row, rows):
            chunk.append((number, text))
            if len(chunk) == CHUNK:
                written += _write_chunk(tagger, chunk, output)
                chunk = []
        written += _write_chunk(tagger, chunk, output)
    finally:
        if args.output:
            output.close()
    seconds = time.perf_counter() - started
    say(f"tagged {written} rows in {seconds:.2f} s" + (f" to {args.output}" if args.output else ""))
    return 0


def _peek(
    rows: Iterator[tuple[int, list[str]]],
) -> tuple[int, list[str]] | None:
    return next(rows, None)


def _chain(
    first: tuple[int, list[str]] | None, rest: Iterator[tuple[int, list[str]]]
) -> Iterator[tuple[int, list[str]]]:
    if first is not None:
        yield first
    yield from rest


def _write_chunk(tagger: LayeredTagger, chunk: list[tuple[int, str]], out: IO[str]) -> int:
    if not chunk:
        return 0
    for (number, _), tags in zip(chunk, tagger.tag_texts([t for _, t in chunk]), strict=True):
        line = {
            "row": number,
            "tags": [
                {
                    "area": t.area,
                    "clause_id": t.clause_id,
                    "method": t.method.value,
                    "confidence": t.confidence,
                }
                for t in tags
            ],
        }
        out.write(json.dumps(line, ensure_ascii=False) + "\n")
    return len(chunk)
