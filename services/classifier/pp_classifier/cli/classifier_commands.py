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
        help="precision, recall, F1, support, confusion matrix and throughput on labelled rows",
    )
    _common(ev)
    ev.add_argument("--label-column", required=True, help="column holding each row's label")
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
        help="also score rows whose text the model was trained on (left out by default)",
    )
    ev.add_argument("--json", type=Path, help="also write the report as JSON to this file")
    ev.set_defaults(func=_eval)

    tag = cmds.add_parser("tag", help="write every row's tags as JSON lines, in order")
    _common(tag)
    tag.add_argument("--output", type=Path, help="JSON lines file (default: standard output)")
    tag.set_defaults(func=_tag)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, type=Path, help="CSV file with a header row")
    parser.add_argument("--text-column", required=True, help="column holding the text")
    parser.add_argument(
        "--taxonomy", type=Path, help="taxonomy file (default: the packaged latest version)"
    )
    parser.add_argument(
        "--model",
        type=Path,
        help="a serialised model (GET /v1/models/{version}/artifact) instead of the seed model",
    )


def _eval(args: argparse.Namespace) -> int:
    from pp_classifier.cli.offline_tagging import run_eval

    return run_eval(args)


def _tag(args: argparse.Namespace) -> int:
    from pp_classifier.cli.offline_tagging import run_tag

    return run_tag(args)
