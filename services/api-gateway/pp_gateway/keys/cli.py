"""``policypulse keys create|list|revoke``: API keys, straight in the gateway's database.

The database is ``PP_DATABASE_URL``, or the embedded stack's of ``PP_DATA_DIR`` (default
``.policypulse``) while ``policypulse up`` runs there. ``create`` prints the key alone on the
last line of its output: ``KEY=$(policypulse keys create --role analyst | tail -1)``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

DATABASE_URL_FILE = "database.url"
"""Written by ``policypulse up`` in its data directory while the embedded database runs."""


def database_url() -> str:
    url = os.environ.get("PP_DATABASE_URL")
    if url:
        return url
    data_dir = Path(os.environ.get("PP_DATA_DIR", ".policypulse"))
    try:
        return (data_dir / DATABASE_URL_FILE).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise SystemExit(
            f"policypulse keys: no database: set PP_DATABASE_URL, or start the stack with "
            f"'make up' (its data directory {data_dir.resolve()} has no {DATABASE_URL_FILE})"
        ) from None


async def _run(args: argparse.Namespace) -> int:
    from pp_gateway.keys import service
    from pp_shared.db import apply_migrations, create_pool
    from pp_shared.records import Records

    url = database_url()
    pool = await create_pool(url, max_size=1)
    records = Records(url, max_size=1)
    try:
        await apply_migrations(pool, schema="gateway", package="pp_gateway")
        actor = os.environ.get("PP_ACTOR", "cli")
        if args.keys_command == "create":
            areas = [a.strip() for a in args.areas.split(",")] if args.areas else None
            expires = service.parse_duration(args.expires) if args.expires else None
            request = service.KeyRequest(args.role, args.owner, args.name, areas, expires)
            key, row = await service.create_key(records, request, created_by=actor)
            scope = ",".join(row.areas) if row.areas else "all areas"
            until = row.expires_at.isoformat() if row.expires_at else "never"
            print(f"created {row.prefix} ({row.role}, {scope}, expires {until}) for {row.owner}")
            print("the key is shown once, below; only its hash is stored", file=sys.stderr)
            print(key)
        elif args.keys_command == "list":
            rows = await service.list_keys(records, include_revoked=args.all)
            print(f"{'prefix':14} {'role':16} {'areas':14} {'owner':20} {'expires':26} name")
            for r in rows:
                shown = ",".join(r.areas) if r.areas else "*"
                ends = r.expires_at.isoformat(timespec="seconds") if r.expires_at else "-"
                revoked = " (revoked)" if r.revoked_at else ""
                print(
                    f"{r.prefix:14} {r.role:16} {shown:14} {r.owner:20} {ends:26} {r.name}{revoked}"
                )
        else:
            gone = await service.revoke_key(records, args.prefix, revoked_by=actor)
            if gone is None:
                print(f"policypulse keys: no key with prefix {args.prefix}", file=sys.stderr)
                return 1
            print(f"revoked {gone.prefix}: the gateways refuse it within 5 s")
    except service.KeyError_ as exc:
        print(f"policypulse keys: {exc.field}: {exc}", file=sys.stderr)
        return 2
    finally:
        await records.close()
        await pool.close()
    return 0


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args))


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``policypulse keys``."""
    _commands(sub.add_parser("keys", help="create, list and revoke API keys"))


def _commands(keys: argparse.ArgumentParser) -> None:
    keys.set_defaults(func=run)
    commands = keys.add_subparsers(dest="keys_command", required=True)
    create = commands.add_parser("create", help="a new key, printed once on the last line")
    create.add_argument(
        "--role",
        required=True,
        choices=["ingest", "analyst", "policy_admin", "calibration_lead", "admin"],
    )
    create.add_argument("--areas", help="comma-separated policy areas (default: all)")
    create.add_argument("--name", default="key", help="what the key is for")
    create.add_argument(
        "--owner", default=os.environ.get("USER", "owner"), help="who holds it (default: $USER)"
    )
    create.add_argument("--expires", help="lifetime, e.g. 90d, 12h (default: never)")
    listing = commands.add_parser("list", help="keys, newest last (never the keys themselves)")
    listing.add_argument("--all", action="store_true", help="revoked keys too")
    revoke = commands.add_parser("revoke", help="revoke a key by its prefix")
    revoke.add_argument("prefix", help="the key's prefix, e.g. ppk_abcdefgh")


def main() -> int:
    """``python -m pp_gateway.keys create|list|revoke``, as ``policypulse keys``."""
    parser = argparse.ArgumentParser(prog="python -m pp_gateway.keys")
    _commands(parser)
    args = parser.parse_args()
    code: int = args.func(args)
    return code
