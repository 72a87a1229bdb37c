"""Rebuild the packaged training data from the public corpora (reproducible, byte for byte).

    python -m pp_classifier.training.build_seed_data ../shared/data

Writes into ``pp_classifier/data``:

- ``functional_cases.csv.gz``: the HateCheck (en) and MHC (es, fr, de, pt) cases of the
  template groups outside the held-out share (``corpora.PACKAGED_HOLDOUT_PERCENT``), less
  any case whose normalised text is also a held-out case's: nothing a held-out figure is
  measured on is in the package.
- ``davidson_subset.csv.gz``: Davidson tweets outside the held-out share of normalised
  texts, with at least 2/3 of the crowd votes for their class and three words, one per
  normalised text, sampled per class with ``random.Random(2017)``; user handles and links
  replaced.

gzip without a file name or time stamp, so the same corpora give the same bytes.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import random
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from pp_classifier.tagging.text import normalise
from pp_classifier.training.corpora import (
    MHC_LANGUAGES,
    PACKAGED_HOLDOUT_PERCENT,
    FunctionalCase,
    read_functional_csv,
    template_held_out,
    write_packaged,
)
from pp_classifier.training.model import held_out
from pp_classifier.training.seed_data import (
    DAVIDSON_SUBSET,
    DAVIDSON_SUBSET_SIZES,
    FUNCTIONAL_CASES,
    data_path,
)

MARKET_MHC = ("spanish", "french", "german", "portuguese")
DAVIDSON_COLUMNS = ("id", "count", "hate_speech", "offensive_language", "neither", "class")
_HANDLE = re.compile(r"@\w+")
_LINK = re.compile(r"https?://\S+")


def functional_files(root: Path) -> list[Path]:
    """The HateCheck file and the MHC files of the market languages under ``root``."""
    assert set(MARKET_MHC) <= set(MHC_LANGUAGES)
    return [root / "hatecheck" / "test_suite_cases.csv"] + [
        root / "mhc" / f"hatecheck_cases_final_{name}.csv" for name in MARKET_MHC
    ]


def training_cases(cases: Sequence[FunctionalCase], percent: int) -> list[FunctionalCase]:
    """Cases of training template groups whose text no held-out case has."""
    held = {normalise(c.text) for c in cases if template_held_out(c.template, percent)}
    return [
        c
        for c in cases
        if not template_held_out(c.template, percent) and normalise(c.text) not in held
    ]


def davidson_subset(path: Path, percent: int) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    by_class: dict[str, list[dict[str, str]]] = {"0": [], "1": [], "2": []}
    seen: set[str] = set()
    for number, row in enumerate(rows):
        tweet = _LINK.sub("http://link", _HANDLE.sub("@user", row["tweet"]))
        key = normalise(tweet)
        votes = max(int(row["hate_speech"]), int(row["offensive_language"]), int(row["neither"]))
        if (
            held_out(normalise(row["tweet"]), percent)
            or held_out(key, percent)
            or key in seen
            or len(key.split()) < 3
            or votes * 3 < 2 * int(row["count"])
        ):
            continue
        seen.add(key)
        by_class[row["class"]].append({**row, "id": str(number), "tweet": tweet})
    rng = random.Random(2017)  # noqa: S311 - a reproducible sample, not a secret
    picked: list[dict[str, str]] = []
    for label, size in DAVIDSON_SUBSET_SIZES.items():
        picked += rng.sample(by_class[label], size)
    return sorted(picked, key=lambda r: int(r["id"]))


def _gzip(text: str, path: Path) -> None:
    with path.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as z:
        z.write(text.encode("utf-8"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("root", type=Path, help="the shared data folder (../shared/data)")
    args = parser.parse_args(argv)
    cases: list[FunctionalCase] = []
    for path in functional_files(args.root):
        cases += read_functional_csv(path)
    kept = training_cases(cases, PACKAGED_HOLDOUT_PERCENT)
    buffer = io.StringIO()
    write_packaged(kept, buffer)
    _gzip(buffer.getvalue(), data_path(FUNCTIONAL_CASES))
    tweets = davidson_subset(args.root / "davidson" / "labeled_data.csv", PACKAGED_HOLDOUT_PERCENT)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow((*DAVIDSON_COLUMNS, "tweet"))
    for row in tweets:
        writer.writerow([*(row[c] for c in DAVIDSON_COLUMNS), row["tweet"]])
    _gzip(buffer.getvalue(), data_path(DAVIDSON_SUBSET))
    print(f"{len(kept)} of {len(cases)} functional cases, {len(tweets)} tweets", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
