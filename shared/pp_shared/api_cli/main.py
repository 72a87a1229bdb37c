"""The click group of the API commands, as ``policypulse`` runs them."""

from __future__ import annotations

import click

from pp_shared.api_cli import COMMANDS
from pp_shared.api_cli.alerts import breaches, rules
from pp_shared.api_cli.events import events
from pp_shared.api_cli.insights import insights
from pp_shared.api_cli.ops import dead_letters, models


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def api_commands() -> None:
    """PolicyPulse against its public API."""


for _group in (events, insights, rules, breaches, dead_letters, models):
    assert _group.name in COMMANDS, _group.name
    _group.help = _group.help or COMMANDS[_group.name]
    api_commands.add_command(_group)


def run(argv: list[str]) -> int:
    """Run one API command; its exit code (click's usage errors are 2)."""
    try:
        api_commands.main(args=argv, prog_name="policypulse", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort:
        click.echo("aborted", err=True)
        return 1
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    return 0
