"""Functional test suites as data: HateCheck (English) and Multilingual HateCheck (MHC).

Both are generated from templates ("I hate [IDENTITY_P].") filled with each target group,
and their spelling variants, counter-speech and quotes are made from the same templates
(``ref_templ_id``). A model that saw one filling of a template recognises the others, so
every case belongs to its **template group**: the template it was made from, or the one its
reference case came from. MHC's templates are translations of HateCheck's and keep their ids,
so a group is the same in every language. A group is held out from training when its key
(``functional-template:<id>``) hashes into the evaluation share, with the hash the service
uses for texts (:func:`~pp_classifier.training.model.held_out`): no figure on held-out groups
comes from a template, or a translation of one, that the model trained on.

Labels become clauses through ``data/functional_label_map.json``: a non-hateful case is
``none``; a hateful one takes its functionality's clause (dehumanisation, slurs, threats)
or else the clause of its target group (``women`` -> ``HATE.PROTECTED_ATTR.SEX``).
"""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from pp_classifier.training.model import ModelError, held_out
from pp_shared.contracts.events import NO_CLAUSE

HATEFUL = "hateful"
NON_HATEFUL = "non-hateful"
HATECHECK = "hatecheck"
MHC = "mhc"
TEMPLATE_KEY = "functional-template:"
# The share of template groups held out when the packaged data was built (the service's
# default PP_HOLDOUT_PERCENT): the packaged file holds only the other groups.
PACKAGED_HOLDOUT_PERCENT = 20
# MHC files name their language in each case id ("spanish-12"); the market languages.
MHC_LANGUAGES = {
    "spanish": "es",
    "french": "fr",
    "german": "de",
    "portuguese": "pt",
    "arabic": "ar",
    "hindi": "hi",
    "mandarin": "zh",
}
MARKET_LANGUAGES = ("en", "es", "fr", "de", "pt")
# The non-hateful functionalities the issue names, by the words a policy manager uses.
FUNCTIONALITY_NAMES = {
    "derog_neg_emote_h": "strong negative emotions",
    "derog_neg_attrib_h": "negative attributes",
    "derog_dehum_h": "dehumanisation",
    "derog_impl_h": "implicit derogation",
    "threat_dir_h": "direct threat",
    "threat_norm_h": "threat as normative statement",
    "slur_h": "slur",
    "slur_homonym_nh": "slur homonym",
    "slur_reclaimed_nh": "reclaimed slur",
    "profanity_h": "hate with profanity",
    "profanity_nh": "profanity, no hate",
    "ref_subs_clause_h": "hate by pronoun reference (clause)",
    "ref_subs_sent_h": "hate by pronoun reference (sentence)",
    "negate_pos_h": "negated positive statement",
    "negate_neg_nh": "negation of hate",
    "phrase_question_h": "hate phrased as a question",
    "phrase_opinion_h": "hate phrased as an opinion",
    "ident_neutral_nh": "neutral use of identity",
    "ident_pos_nh": "positive statement about identity",
    "counter_quote_nh": "counter-speech quoting hate",
    "counter_ref_nh": "counter-speech referencing hate",
    "target_obj_nh": "abuse of objects",
    "target_indiv_nh": "abuse of individuals (not protected)",
    "target_group_nh": "abuse of non-protected groups",
    "spell_char_swap_h": "spelling: swapped characters",
    "spell_char_del_h": "spelling: missing characters",
    "spell_space_del_h": "spelling: missing spaces",
    "spell_space_add_h": "spelling: added spaces",
    "spell_leet_h": "spelling: leet speak",
}
# The non-hateful families, each a set of functionalities, for the benchmark.
NON_HATEFUL_FAMILIES = {
    "counter-speech": ("counter_quote_nh", "counter_ref_nh"),
    "negation": ("negate_neg_nh",),
    "reclaimed slurs": ("slur_reclaimed_nh",),
    "abuse against non-protected targets": (
        "target_obj_nh",
        "target_indiv_nh",
        "target_group_nh",
    ),
}
PACKAGED_COLUMNS = (
    "corpus",
    "language",
    "case_id",
    "template",
    "functionality",
    "target",
    "label_gold",
    "text",
)


@dataclass(frozen=True, slots=True)
class FunctionalCase:
    """One test case: ``template`` is its template group, ``gold`` hateful or non-hateful."""

    corpus: str
    language: str
    case_id: str
    template: str
    functionality: str
    target: str
    gold: str
    text: str

    @property
    def hateful(self) -> bool:
        return self.gold == HATEFUL

    @property
    def group_key(self) -> str:
        """The key the held-out split hashes: one per template group, in every language."""
        return TEMPLATE_KEY + self.template


@dataclass(frozen=True)
class FunctionalLabelMap:
    """Hateful cases' clauses: by functionality first, else by target group."""

    functionality: dict[str, str]
    target: dict[str, str]

    def clause_of(self, case: FunctionalCase) -> str | None:
        """The case's clause, ``none`` for non-hateful, None when the map cannot tell."""
        if not case.hateful:
            return NO_CLAUSE
        return self.functionality.get(case.functionality) or self.target.get(case.target)

    def clauses(self) -> set[str]:
        return set(self.functionality.values()) | set(self.target.values())


def read_functional_label_map(path: Path) -> FunctionalLabelMap:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return FunctionalLabelMap(
            functionality={str(k): str(v) for k, v in data["functionality"].items()},
            target={str(k): str(v) for k, v in data["target"].items()},
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ModelError(f"cannot read functional label map {path}: {exc}") from exc


def template_held_out(template: str, percent: int) -> bool:
    """Whether a template group is in the evaluation share."""
    return held_out(TEMPLATE_KEY + template, percent)


def _template_id(value: str) -> str:
    # MHC writes ids as floats ("1.0"); HateCheck as integers.
    text = value.strip()
    return str(int(float(text))) if text else ""


def _gold(value: str, path: Path, row: int) -> str:
    gold = value.strip()
    if gold not in (HATEFUL, NON_HATEFUL):
        raise ModelError(f"{path}: row {row}: label_gold must be hateful or non-hateful")
    return gold


def _cases(
    rows: Iterable[dict[str, str]], path: Path, columns: list[str]
) -> Iterator[FunctionalCase]:
    if "mhc_case_id" in columns:
        corpus, id_column = MHC, "mhc_case_id"
    elif "case_id" in columns:
        corpus, id_column = HATECHECK, "case_id"
    else:
        raise ModelError(f"{path}: neither a HateCheck nor an MHC file (no case_id column)")
    missing = [
        c
        for c in ("functionality", "test_case", "label_gold", "target_ident", "templ_id")
        if c not in columns
    ]
    if missing:
        raise ModelError(f"{path}: no column {', '.join(missing)}")
    for number, row in enumerate(rows, start=1):
        case_id = row[id_column].strip()
        prefix = case_id.rsplit("-", 1)[0]
        language = MHC_LANGUAGES.get(prefix, "und") if corpus == MHC else "en"
        template = _template_id(row.get("ref_templ_id") or "") or _template_id(row["templ_id"])
        yield FunctionalCase(
            corpus=corpus,
            language=language,
            case_id=case_id,
            template=template,
            functionality=row["functionality"].strip(),
            target=row["target_ident"].strip(),
            gold=_gold(row["label_gold"], path, number),
            text=row["test_case"].strip(),
        )


def read_functional_csv(path: Path) -> list[FunctionalCase]:
    """The cases of a HateCheck or MHC CSV file, as published; ``ModelError`` otherwise."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            return list(_cases(reader, path, list(reader.fieldnames or [])))
    except OSError as exc:
        raise ModelError(f"cannot read {path}: {exc.strerror}") from exc
    except (ValueError, csv.Error) as exc:
        raise ModelError(f"{path}: {exc}") from exc


def write_packaged(cases: Iterable[FunctionalCase], handle: IO[str]) -> int:
    """Write cases in the packaged form (one row per case, ``PACKAGED_COLUMNS``)."""
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(PACKAGED_COLUMNS)
    n = 0
    for c in cases:
        writer.writerow(
            (c.corpus, c.language, c.case_id, c.template, c.functionality, c.target, c.gold, c.text)
        )
        n += 1
    return n


def read_packaged(path: Path) -> list[FunctionalCase]:
    """The cases of a packaged (gzip-compressed) file written by :func:`write_packaged`."""
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        return [
            FunctionalCase(
                corpus=row["corpus"],
                language=row["language"],
                case_id=row["case_id"],
                template=row["template"],
                functionality=row["functionality"],
                target=row["target"],
                gold=row["label_gold"],
                text=row["text"],
            )
            for row in csv.DictReader(handle)
        ]
