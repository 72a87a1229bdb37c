"""The policy taxonomy as versioned data: areas -> clauses, validated on load.

A taxonomy file is the unit of release. Every tag keeps the version it was made with, so a
file, once published, must never be edited in place: a change is a new file with a new
version, and :func:`diff` says what a launch changes for the clauses moderators apply.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from pp_shared.contracts.dsa import (
    DSA_CATEGORIES,
    DSA_KEYWORDS_BY_CATEGORY,
    DSA_LEGACY_CATEGORIES,
)
from pp_shared.contracts.events import CLAUSE_ID_PATTERN, AwareDatetime
from pp_shared.types import MULTI_LINE, SINGLE_LINE, SingleLineText

# Rule matching and moderator guidance must work in every market language the product
# launches with; a clause without seeds in one of them is silently unenforceable there.
REQUIRED_LANGUAGES: tuple[str, ...] = ("en", "es", "fr", "de", "pt")

# Calendar versioning (year.month.patch) so a tag's version alone dates the rules it used.
# Versions are ordered by their parts as a Postgres integer[]: a patch fits an integer.
VERSION_PATTERN = r"^[0-9]{4}\.(0?[1-9]|1[0-2])\.[0-9]{1,9}$"
SEED_PACKAGE = "pp_classifier.taxonomy"
SEED_DIRECTORY = "seed"
_SEED_NAME = re.compile(r"^taxonomy-(?P<version>.+)\.(?P<suffix>ya?ml|json)$")

AreaId = Literal["HATE", "VBDA", "HEX", "INA"]
ClauseIdStr = Annotated[str, StringConstraints(max_length=128, pattern=CLAUSE_ID_PATTERN)]
Version = Annotated[str, StringConstraints(pattern=VERSION_PATTERN)]
LanguageCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")]
# Free text shown in answers and to moderators: titles and lexicon terms on one line,
# descriptions and example texts over several (line feed and tab), no other control character.
Title = Annotated[str, StringConstraints(min_length=3, max_length=120), SINGLE_LINE]
Description = Annotated[str, StringConstraints(min_length=40, max_length=2000), MULTI_LINE]
Example = Annotated[str, StringConstraints(min_length=3, max_length=500), MULTI_LINE]
Term = Annotated[str, StringConstraints(min_length=2, max_length=120), SINGLE_LINE]


class _Frozen(BaseModel):
    # extra="forbid" turns a misspelt key in a hand-edited file into an error, not a silent gap.
    model_config = ConfigDict(frozen=True, extra="forbid")


def _no_padding_or_duplicates(values: tuple[str, ...], what: str) -> tuple[str, ...]:
    padded = [value for value in values if value != value.strip()]
    if padded:
        raise ValueError(f"{what} must not start or end with whitespace: {padded!r}")
    counts = Counter(value.casefold() for value in values)
    duplicates = sorted(value for value, count in counts.items() if count > 1)
    if duplicates:
        raise ValueError(f"duplicate {what} (ignoring case): {duplicates!r}")
    return values


class Clause(_Frozen):
    """One enforceable rule: the unit that decisions apply and metrics are reported by."""

    id: ClauseIdStr
    title: Title
    description: Description
    positive_examples: tuple[Example, ...] = Field(min_length=2)
    negative_examples: tuple[Example, ...] = Field(min_length=2)
    dsa_category: str
    dsa_keyword: str | None = None
    lexicon: dict[LanguageCode, tuple[Term, ...]]

    @field_validator("positive_examples", "negative_examples")
    @classmethod
    def _distinct_examples(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return _no_padding_or_duplicates(values, "examples")

    @field_validator("lexicon")
    @classmethod
    def _distinct_terms(cls, lexicon: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for language, terms in lexicon.items():
            _no_padding_or_duplicates(terms, f"lexicon terms for {language!r}")
        return lexicon

    # A model validator rather than a field validator so the error can name the clause: the
    # field path alone (areas.3.clauses.5) is useless to someone editing the file by hand.
    @model_validator(mode="after")
    def _complete_lexicon(self) -> Clause:
        missing = [language for language in REQUIRED_LANGUAGES if not self.lexicon.get(language)]
        if missing:
            raise ValueError(
                f"clause {self.id}: lexicon needs at least one term for each of"
                f" {', '.join(REQUIRED_LANGUAGES)}; missing or empty: {', '.join(missing)}"
            )
        return self

    @model_validator(mode="after")
    def _known_dsa_keys(self) -> Clause:
        if self.dsa_category in DSA_LEGACY_CATEGORIES:
            raise ValueError(
                f"clause {self.id}: dsa_category {self.dsa_category!r} was removed from the DSA"
                " schema; use a current category key"
            )
        if self.dsa_category not in DSA_CATEGORIES:
            raise ValueError(f"clause {self.id}: unknown DSA category key {self.dsa_category!r}")
        if self.dsa_keyword is not None:
            allowed = DSA_KEYWORDS_BY_CATEGORY[self.dsa_category]
            if self.dsa_keyword not in allowed:
                raise ValueError(
                    f"clause {self.id}: DSA keyword {self.dsa_keyword!r} is not listed under"
                    f" {self.dsa_category}; allowed: {', '.join(sorted(allowed)) or 'none'}"
                )
        return self


class Area(_Frozen):
    """A high-harm policy area, owned by one policy team."""

    id: AreaId
    title: Title
    description: Description
    clauses: tuple[Clause, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _clauses_belong_here(self) -> Area:
        prefix = f"{self.id}."
        strays = [clause.id for clause in self.clauses if not clause.id.startswith(prefix)]
        if strays:
            raise ValueError(
                f"clauses listed under area {self.id} must have ids starting with {prefix!r};"
                f" outside the area: {', '.join(strays)}"
            )
        return self


class Taxonomy(_Frozen):
    """One released version of the taxonomy."""

    version: Version
    published_at: AwareDatetime
    description: Description
    source: SingleLineText | None = None
    areas: tuple[Area, ...] = Field(min_length=1)

    _by_id: dict[str, Clause] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _unique_ids(self) -> Taxonomy:
        area_counts = Counter(area.id for area in self.areas)
        repeated_areas = sorted(area for area, count in area_counts.items() if count > 1)
        if repeated_areas:
            raise ValueError(f"duplicate area ids: {', '.join(repeated_areas)}")
        clause_counts = Counter(clause.id for area in self.areas for clause in area.clauses)
        repeated = sorted(clause for clause, count in clause_counts.items() if count > 1)
        if repeated:
            raise ValueError(f"duplicate clause ids: {', '.join(repeated)}")
        self._by_id = {clause.id: clause for area in self.areas for clause in area.clauses}
        return self

    def clause(self, clause_id: str) -> Clause:
        """The clause with this id; ``KeyError`` if this version has none."""
        try:
            return self._by_id[clause_id]
        except KeyError:
            raise KeyError(f"taxonomy {self.version} has no clause {clause_id!r}") from None

    def clause_ids(self) -> tuple[str, ...]:
        """All clause ids, in file order (areas first, then clauses within each)."""
        return tuple(self._by_id)

    def clauses(self) -> tuple[Clause, ...]:
        """All clauses, in file order."""
        return tuple(self._by_id.values())

    def area(self, area_id: str) -> Area:
        """The area with this id; ``KeyError`` if this version has none."""
        for area in self.areas:
            if area.id == area_id:
                return area
        raise KeyError(f"taxonomy {self.version} has no area {area_id!r}")


class TaxonomyDiff(_Frozen):
    """What changes for clauses between two versions; ids and field names are sorted."""

    old_version: str
    new_version: str
    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: dict[str, tuple[str, ...]]

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def diff(old: Taxonomy, new: Taxonomy) -> TaxonomyDiff:
    """Clause ids added, removed and changed from ``old`` to ``new``, with changed fields."""
    old_ids, new_ids = set(old.clause_ids()), set(new.clause_ids())
    changed: dict[str, tuple[str, ...]] = {}
    for clause_id in sorted(old_ids & new_ids):
        before, after = old.clause(clause_id), new.clause(clause_id)
        fields = tuple(
            name
            for name in sorted(Clause.model_fields)
            if getattr(before, name) != getattr(after, name)
        )
        if fields:
            changed[clause_id] = fields
    return TaxonomyDiff(
        old_version=old.version,
        new_version=new.version,
        added=tuple(sorted(new_ids - old_ids)),
        removed=tuple(sorted(old_ids - new_ids)),
        changed=changed,
    )


class TaxonomyLoadError(ValueError):
    """A taxonomy file that cannot be read or does not validate."""


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def _seed_files() -> dict[str, Traversable]:
    seeds: dict[str, Traversable] = {}
    for entry in files(SEED_PACKAGE).joinpath(SEED_DIRECTORY).iterdir():
        match = _SEED_NAME.match(entry.name)
        if match and re.match(VERSION_PATTERN, match["version"]):
            seeds[match["version"]] = entry
    return seeds


def seed_versions() -> tuple[str, ...]:
    """Versions of the packaged taxonomy files, oldest first."""
    return tuple(sorted(_seed_files(), key=_version_key))


def _parse(text: str, name: str) -> Any:
    if name.endswith(".json"):
        return json.loads(text)
    return yaml.safe_load(text)


def read_taxonomy_data(path: str | Path | None = None) -> dict[str, Any]:
    """The raw mapping of a taxonomy file, before validation.

    ``path=None`` reads the newest packaged seed. The file name's version must match the
    version inside, so a copied file that was not re-versioned cannot be released.
    """
    source: Traversable | Path
    if path is None:
        seeds = _seed_files()
        if not seeds:
            raise TaxonomyLoadError(f"no taxonomy files packaged in {SEED_PACKAGE}/seed")
        source = seeds[max(seeds, key=_version_key)]
    else:
        source = Path(path)
    try:
        data = _parse(source.read_text(encoding="utf-8"), source.name)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise TaxonomyLoadError(f"cannot read taxonomy file {source.name}: {exc}") from exc
    if not isinstance(data, dict):
        raise TaxonomyLoadError(f"taxonomy file {source.name} must hold a mapping at the top")
    match = _SEED_NAME.match(source.name)
    if match and match["version"] != data.get("version"):
        raise TaxonomyLoadError(
            f"taxonomy file {source.name} holds version {data.get('version')!r};"
            f" the file name says {match['version']!r}"
        )
    return data


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Load and validate a taxonomy file; ``path=None`` loads the newest packaged seed."""
    data = read_taxonomy_data(path)
    try:
        return Taxonomy.model_validate(data)
    except ValidationError as exc:
        raise TaxonomyLoadError(f"taxonomy {data.get('version', '?')} is invalid: {exc}") from exc
