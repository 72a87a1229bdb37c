"""The ``policypulse`` command. ``up`` runs the whole system on one machine; the commands for
everyday work against the public API (events, insights, rules, breaches, dead-letters,
models; ``pp_shared.api_cli``) take ``--url``/``PP_API_URL`` and ``--key``/``PP_API_KEY``;
services add their own sub-commands through the ``policypulse.commands`` entry-point group.
Every command imports what it needs when it runs, so ``--help`` answers at once."""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import entry_points, version

from pp_shared.api_cli import COMMANDS as API_COMMANDS


def cmd_up(args: argparse.Namespace) -> int:
    from pp_shared.devstack.launcher import cmd_up as up

    return up(args)


def main(argv: list[str] | None = None) -> int:
    args_given = sys.argv[1:] if argv is None else argv
    if args_given and args_given[0] in API_COMMANDS:
        # click commands: parsed by click, imported only now.
        from pp_shared.api_cli.main import run

        return run(args_given)
    parser = argparse.ArgumentParser(
        prog="policypulse",
        description="PolicyPulse: run the system (up), work with it through its public API "
        "(--url or PP_API_URL, default http://127.0.0.1:8080; --key or PP_API_KEY), and run the "
        "classifier and taxonomy tools. 'policypulse COMMAND --help' for each command.",
    )
    parser.add_argument(
        "--version", action="version", version=f"policypulse {version('pp-shared')}"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in API_COMMANDS.items():
        # Listed here for --help; run by the branch above (``policypulse NAME --help``).
        sub.add_parser(name, help=text, add_help=False)
    up = sub.add_parser("up", help="run all four services on the embedded (or configured) stack")
    # A fresh classifier trains its seed model before it is ready: about 40 s of CPU, more
    # wall time while the other services start on the same cores.
    up.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for readiness")
    up.add_argument("--no-restart", action="store_true", help="do not restart crashed services")
    up.set_defaults(func=cmd_up)
    for ep in entry_points(group="policypulse.commands"):
        register = ep.load()
        register(sub)
    args = parser.parse_args(args_given)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
