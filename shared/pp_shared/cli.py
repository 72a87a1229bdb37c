"""The ``policypulse`` command. ``up`` runs the whole system on one machine; services add
their own sub-commands through the ``policypulse.commands`` entry-point group. Every command
imports what it needs when it runs, so ``--help`` answers at once."""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import entry_points


def cmd_up(args: argparse.Namespace) -> int:
    from pp_shared.launcher import cmd_up as up

    return up(args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="policypulse", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="run all four services on the embedded (or configured) stack")
    up.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for readiness")
    up.add_argument("--no-restart", action="store_true", help="do not restart crashed services")
    up.set_defaults(func=cmd_up)
    for ep in entry_points(group="policypulse.commands"):
        register = ep.load()
        register(sub)
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
