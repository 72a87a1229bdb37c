"""``policypulse taxonomy``: validate a taxonomy file offline, publish it, list and diff
published versions through the API. The HTTP client and the taxonomy model are imported
when a command runs, so ``policypulse --help`` does not load them.

Two ways to reach the API: the gateway (``PP_API_URL``, by default ``http://127.0.0.1:8080``)
with an API key in ``PP_API_KEY``, sent as ``Authorization: Bearer``; a version is then
published by the key's owner. Or, in development, a classifier that has no gateway secret,
without a key; ``--by`` then names the publisher (default ``cli``)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

    from pp_classifier.taxonomy.document import Taxonomy


def register(sub: Any) -> None:
    """Add the ``taxonomy`` command to the ``policypulse`` CLI."""
    parser = sub.add_parser("taxonomy", help="validate, publish, list and diff taxonomy versions")
    parser.add_argument("--api", default=None, help="API base URL (default: $PP_API_URL)")
    cmds = parser.add_subparsers(dest="taxonomy_command", required=True)
    validate = cmds.add_parser("validate", help="check a taxonomy file without publishing")
    validate.add_argument("file")
    validate.set_defaults(func=_validate)
    publish = cmds.add_parser("publish", help="publish a taxonomy file as a new version")
    publish.add_argument("file")
    publish.add_argument(
        "--by",
        default=None,
        help="who publishes, without PP_API_KEY only (default: cli); with a key, its owner",
    )
    publish.set_defaults(func=_publish)
    listing = cmds.add_parser("list", help="published versions, newest first")
    listing.set_defaults(func=_list)
    simulate = cmds.add_parser(
        "simulate",
        help="re-tag stored escalations with a draft (nothing is stored or published)",
    )
    simulate.add_argument("file")
    simulate.add_argument("--days", type=int, default=30, help="the last N days (default 30)")
    simulate.add_argument("--max-texts", type=int, default=None, help="sample size")
    simulate.set_defaults(func=_simulate)
    compare = cmds.add_parser("diff", help="clauses added, removed and changed")
    compare.add_argument("old")
    compare.add_argument("new")
    compare.set_defaults(func=_diff)


def _api(args: argparse.Namespace) -> str:
    from pp_classifier.cli.settings import CliSettings

    url: str = args.api or CliSettings().api_url
    return url.rstrip("/")


def _auth() -> dict[str, str]:
    """The Authorization header of PP_API_KEY, if set."""
    from pp_classifier.cli.settings import CliSettings

    key = CliSettings().api_key
    return {"Authorization": f"Bearer {key.get_secret_value()}"} if key is not None else {}


def _fail(message: str) -> int:
    print(f"policypulse taxonomy: {message}", file=sys.stderr)
    return 2


def _load(path: str) -> Taxonomy | str:
    """The taxonomy in ``path``, or what is wrong with it."""
    from pp_classifier.taxonomy.document import TaxonomyLoadError, load_taxonomy

    try:
        return load_taxonomy(path)
    except TaxonomyLoadError as exc:
        return str(exc)


def _validate(args: argparse.Namespace) -> int:
    taxonomy = _load(args.file)
    if isinstance(taxonomy, str):
        return _fail(taxonomy)
    counts = ", ".join(f"{a.id} {len(a.clauses)}" for a in taxonomy.areas)
    print(f"taxonomy {taxonomy.version} is valid: {len(taxonomy.clause_ids())} clauses ({counts})")
    return 0


def _request(method: str, url: str, **kwargs: Any) -> httpx.Response | None:
    import httpx

    try:
        return httpx.request(method, url, timeout=30, headers=_auth(), **kwargs)
    except httpx.HTTPError as exc:
        print(f"policypulse taxonomy: cannot reach {url}: {exc}", file=sys.stderr)
        return None


def _answer(response: httpx.Response | None) -> int:
    if response is None:
        return 2
    if response.status_code >= 400:
        body = response.json() if response.content else {}
        print(
            f"policypulse taxonomy: {response.status_code} {body.get('detail', '')}",
            file=sys.stderr,
        )
        for err in body.get("errors", []):
            print(f"  {err.get('pointer', '')}: {err.get('detail', '')}", file=sys.stderr)
        if response.status_code == 401:
            print(
                "  set PP_API_URL to the gateway and PP_API_KEY to an API key",
                file=sys.stderr,
            )
        return 1
    print(json.dumps(response.json(), indent=2))
    return 0


def _publish(args: argparse.Namespace) -> int:
    taxonomy = _load(args.file)
    if isinstance(taxonomy, str):
        return _fail(taxonomy)
    if _auth():
        if args.by is not None:
            return _fail(
                "--by is for a classifier reached without a key: with PP_API_KEY, "
                "the version is published by the key's owner"
            )
        params = {}
    else:
        params = {"published_by": args.by or "cli"}
    return _answer(
        _request(
            "POST",
            f"{_api(args)}/v1/taxonomy/versions",
            params=params,
            json=taxonomy.model_dump(mode="json"),
        )
    )


def _list(args: argparse.Namespace) -> int:
    return _answer(_request("GET", f"{_api(args)}/v1/taxonomy/versions"))


def _diff(args: argparse.Namespace) -> int:
    return _answer(
        _request("GET", f"{_api(args)}/v1/taxonomy/diff", params={"from": args.old, "to": args.new})
    )


def _simulate(args: argparse.Namespace) -> int:
    """Stream the simulation's progress to stderr, then print its answer."""
    import httpx

    taxonomy = _load(args.file)
    if isinstance(taxonomy, str):
        return _fail(taxonomy)
    params: dict[str, int] = {"days": args.days}
    if args.max_texts is not None:
        params["max_texts"] = args.max_texts
    url = f"{_api(args)}/v1/taxonomy/simulate"
    try:
        with httpx.stream(
            "POST",
            url,
            params=params,
            json=taxonomy.model_dump(mode="json"),
            headers={"Accept": "application/x-ndjson"},
            timeout=httpx.Timeout(30, read=600),
        ) as response:
            if response.status_code >= 400:
                response.read()
                return _answer(response)
            for line in response.iter_lines():
                if not line:
                    continue
                item = json.loads(line)
                if "progress" in item:
                    done = item["progress"]
                    print(
                        f"re-tagged {done['examined']} of {done['total']} escalations",
                        file=sys.stderr,
                    )
                elif "result" in item:
                    print(json.dumps(item["result"], indent=2))
                    return 0
    except httpx.HTTPError as exc:
        print(f"policypulse taxonomy: cannot reach {url}: {exc}", file=sys.stderr)
        return 2
    print("policypulse taxonomy: the simulation ended without a result", file=sys.stderr)
    return 1
