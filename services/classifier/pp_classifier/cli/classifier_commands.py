"""``policypulse classifier eval|tag``: the command line. What the commands do is in
:mod:`pp_classifier.cli.offline_tagging`, imported when one runs, so ``policypulse --help``
does not load numpy, scipy or the model."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    """Add the ``classifier`` command to the ``policypulse`` CLI."""
    parser = sub.add_parser("classifier", help="evaluate the clause tagger on a CSV, or tag one")
    cmds = parser.add_subparsers(dest="classifier_command", required=True)

    ev = cmds.add_parser(
        "eval",
        help="precision, recall, F1, support, confusion matrix and throughput on labelled rows;"
        " or, with --functional, a HateCheck-style report",
    )
    _common(ev, data_required=False)
    ev.add_argument(
        "--functional",
        type=Path,
        metavar="FILE.csv",
        help="a HateCheck or Multilingual HateCheck file: accuracy per functionality and per"
        " target group, hate F1 per language (replaces --data and the columns)",
    )
    ev.add_argument("--label-column", help="column holding each row's label")
    ev.add_argument(
        "--label-map",
        type=Path,
        help="JSON object mapping the CSV's labels to clause ids or 'none'",
    )
    ev.add_argument(
        "--layers",
        choices=("all", "rules", "model"),
        default="all",
        help="evaluate rules then model (default), or one layer alone",
    )
    ev.add_argument(
        "--include-seen",
        action="store_true",
        help="also score rows whose text the model was trained on (left out by default); with"
        " --functional, also cases of template groups the seed data holds",
    )
    ev.add_argument("--json", type=Path, help="also write the report as JSON to this file")
    ev.set_defaults(func=_eval)

    tag = cmds.add_parser("tag", help="write every row's tags as JSON lines, in order")
    _common(tag)
    tag.add_argument("--output", type=Path, help="JSON lines file (default: standard output)")
    tag.set_defaults(func=_tag)


def _common(parser: argparse.ArgumentParser, *, data_required: bool = True) -> None:
    parser.add_argument(
        "--data", required=data_required, type=Path, help="CSV file with a header row"
    )
    parser.add_argument("--text-column", required=data_required, help="column holding the text")
    parser.add_argument(
        "--taxonomy", type=Path, help="taxonomy file (default: the packaged latest version)"
    )
    parser.add_argument(
        "--model",
        type=Path,
        help="a serialised model (GET /v1/models/{version}/artifact) instead of the seed model",
    )


def _eval(args: argparse.Namespace) -> int:
    if args.functional is not None:
        from pp_classifier.cli.functional_eval import run_functional

        return run_functional(args)
    from pp_classifier.cli.offline_tagging import run_eval

    return run_eval(args)


def _tag(args: argparse.Namespace) -> int:
    from pp_classifier.cli.offline_tagging import run_tag

    return run_tag(args)
