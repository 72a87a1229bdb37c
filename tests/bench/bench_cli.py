"""What a command line costs before it does anything: ``policypulse --help`` (CPU time of the
process, best of ``--runs``; target under 0.3 s) and the modules that importing each
service's settings loads (no HTTP client, slack-sdk or scipy; ``python -X importtime``).

    make bench-cli
"""

from __future__ import annotations

import argparse
import re
import resource
import subprocess
import sys
from pathlib import Path

from pp_shared.testing.bench import write_report

POLICYPULSE = str(Path(sys.executable).with_name("policypulse"))
SETTINGS = ["pp_ingest.settings", "pp_classifier.settings", "pp_insights.settings",
            "pp_gateway.settings"]  # fmt: skip
HEAVY = ("httpx", "aiohttp", "slack_sdk", "scipy", "numpy", "sklearn", "statsmodels")


def cpu_seconds(command: list[str]) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, capture_output=True, check=True, timeout=60)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def imported(module: str) -> tuple[float, list[str]]:
    """Cumulative import time of ``module`` (s) and the heavy top-level packages it loads."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    total = 0.0
    names: set[str] = set()
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \|\s+(\S.*)$", line)
        if not match:
            continue
        name = match.group(2).strip()
        names.add(name.split(".")[0])
        if name == module:
            total = int(match.group(1)) / 1e6
    return total, sorted(n for n in HEAVY if n in names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("bench-results/cli.json"))
    args = parser.parse_args()
    cpu_seconds([POLICYPULSE, "--help"])  # the file cache warm
    best = min(cpu_seconds([POLICYPULSE, "--help"]) for _ in range(args.runs))
    print(f"bench-cli: policypulse --help: {best * 1000:.0f} ms of CPU (best of {args.runs})")
    results: dict[str, object] = {"help_cpu_seconds": round(best, 4)}
    for module in SETTINGS:
        seconds, heavy = imported(module)
        loaded = ", ".join(heavy) or "none"
        print(f"bench-cli: import {module}: {seconds * 1000:.0f} ms, heavy modules: {loaded}")
        results[module] = {"import_seconds": round(seconds, 4), "heavy": heavy}
    write_report(args.out, "cli", args, results)


if __name__ == "__main__":
    main()
