from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from pp_classifier.taxonomy.document import (
    REQUIRED_LANGUAGES,
    Taxonomy,
    TaxonomyLoadError,
    diff,
    load_taxonomy,
    read_taxonomy_data,
    seed_versions,
)
from pp_shared.contracts.dsa import (
    DSA_CATEGORIES,
    DSA_CATEGORY_DEFAULTS,
    DSA_KEYWORD_DEFAULTS,
    DSA_LEGACY_CATEGORIES,
    DsaDefault,
    default_clause,
    is_dsa_keyword,
)
from pp_shared.devstack.loadgen import CLAUSES as LOADGEN_CLAUSES

SEED_VERSION = "2026.11.0"
AREA_COUNTS = {"HATE": 16, "VBDA": 11, "HEX": 11, "INA": 10}
TOTAL_CLAUSES = 48

# The load generator (and, through its ids, the demo and the benchmarks) refers to these ids
# directly; renaming one in the taxonomy breaks them.
REFERENCED_CLAUSE_IDS = tuple(c for clauses in LOADGEN_CLAUSES.values() for c in clauses)


@pytest.fixture(scope="module")
def seed() -> Taxonomy:
    return load_taxonomy()


@pytest.fixture
def data() -> dict[str, Any]:
    return read_taxonomy_data()


def area_data(data: dict[str, Any], area_id: str) -> dict[str, Any]:
    (area,) = (area for area in data["areas"] if area["id"] == area_id)
    assert isinstance(area, dict)
    return area


def clause_data(data: dict[str, Any], clause_id: str) -> dict[str, Any]:
    area = area_data(data, clause_id.split(".", 1)[0])
    (clause,) = (clause for clause in area["clauses"] if clause["id"] == clause_id)
    assert isinstance(clause, dict)
    return clause


def write(tmp_path: Path, name: str, data: dict[str, Any]) -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


class TestSeed:
    def test_only_packaged_version(self) -> None:
        assert seed_versions() == (SEED_VERSION,)

    def test_loads_newest_seed(self, seed: Taxonomy) -> None:
        assert seed.version == SEED_VERSION
        assert seed.published_at.utcoffset() is not None

    def test_total_clause_count(self, seed: Taxonomy) -> None:
        assert len(seed.clause_ids()) == TOTAL_CLAUSES
        assert sum(AREA_COUNTS.values()) == TOTAL_CLAUSES

    def test_clause_count_per_area(self, seed: Taxonomy) -> None:
        assert {area.id: len(area.clauses) for area in seed.areas} == AREA_COUNTS

    def test_every_clause_has_the_five_languages(self, seed: Taxonomy) -> None:
        assert REQUIRED_LANGUAGES == ("en", "es", "fr", "de", "pt")
        incomplete = [
            clause.id
            for clause in seed.clauses()
            if sorted(clause.lexicon) != sorted(REQUIRED_LANGUAGES)
        ]
        assert incomplete == []

    def test_every_language_has_at_least_three_terms(self, seed: Taxonomy) -> None:
        short = [
            (clause.id, language)
            for clause in seed.clauses()
            for language, terms in clause.lexicon.items()
            if len(terms) < 3
        ]
        assert short == []

    def test_every_clause_has_two_positive_and_two_negative_examples(self, seed: Taxonomy) -> None:
        thin = [
            clause.id
            for clause in seed.clauses()
            if len(clause.positive_examples) < 2 or len(clause.negative_examples) < 2
        ]
        assert thin == []

    def test_referenced_clause_ids_exist(self, seed: Taxonomy) -> None:
        assert len(REFERENCED_CLAUSE_IDS) == TOTAL_CLAUSES  # the generator uses every clause
        assert [cid for cid in REFERENCED_CLAUSE_IDS if cid not in seed.clause_ids()] == []

    def test_lookup_by_id(self, seed: Taxonomy) -> None:
        clause = seed.clause("VBDA.THREATS")
        assert clause.dsa_category == "STATEMENT_CATEGORY_CYBER_VIOLENCE"
        assert clause.dsa_keyword == "KEYWORD_CYBER_BULLYING_INTIMIDATION"
        assert "te voy a matar" in clause.lexicon["es"]

    def test_unknown_clause_and_area_raise_key_error(self, seed: Taxonomy) -> None:
        with pytest.raises(KeyError, match=r"taxonomy 2026\.11\.0 has no clause 'HATE\.NOPE'"):
            seed.clause("HATE.NOPE")
        with pytest.raises(KeyError, match=r"taxonomy 2026\.11\.0 has no area 'SPAM'"):
            seed.area("SPAM")

    def test_records_dsa_source(self, seed: Taxonomy) -> None:
        assert seed.source is not None
        assert "CC BY 4.0" in seed.source
        assert "Digital Services Act Transparency Database" in seed.source


class TestValidation:
    def test_seed_data_is_valid(self, data: dict[str, Any]) -> None:
        assert len(Taxonomy.model_validate(data).clause_ids()) == TOTAL_CLAUSES

    def test_duplicate_clause_id(self, data: dict[str, Any]) -> None:
        hate = area_data(data, "HATE")
        hate["clauses"].append(copy.deepcopy(clause_data(data, "HATE.SLURS")))
        with pytest.raises(ValidationError, match=r"duplicate clause ids: HATE\.SLURS"):
            Taxonomy.model_validate(data)

    def test_duplicate_area_id(self, data: dict[str, Any]) -> None:
        data["areas"].append(copy.deepcopy(area_data(data, "INA")))
        with pytest.raises(ValidationError, match=r"duplicate area ids: INA"):
            Taxonomy.model_validate(data)

    def test_clause_outside_its_area(self, data: dict[str, Any]) -> None:
        threats = clause_data(data, "VBDA.THREATS")
        area_data(data, "VBDA")["clauses"].remove(threats)
        area_data(data, "HATE")["clauses"].append(threats)
        with pytest.raises(
            ValidationError,
            match=r"clauses listed under area HATE must have ids starting with 'HATE\.';"
            r" outside the area: VBDA\.THREATS",
        ):
            Taxonomy.model_validate(data)

    def test_unknown_dsa_category(self, data: dict[str, Any]) -> None:
        spam = clause_data(data, "INA.SPAM")
        spam["dsa_category"] = "STATEMENT_CATEGORY_MADE_UP"
        with pytest.raises(
            ValidationError,
            match=r"clause INA\.SPAM: unknown DSA category key 'STATEMENT_CATEGORY_MADE_UP'",
        ):
            Taxonomy.model_validate(data)

    def test_legacy_dsa_category(self, data: dict[str, Any]) -> None:
        clause = clause_data(data, "HEX.COMMERCIAL_SEXUAL")
        clause["dsa_category"] = "STATEMENT_CATEGORY_PORNOGRAPHY_OR_SEXUALIZED_CONTENT"
        clause["dsa_keyword"] = None
        with pytest.raises(
            ValidationError,
            match=r"clause HEX\.COMMERCIAL_SEXUAL: dsa_category"
            r" 'STATEMENT_CATEGORY_PORNOGRAPHY_OR_SEXUALIZED_CONTENT' was removed",
        ):
            Taxonomy.model_validate(data)

    def test_unknown_dsa_keyword(self, data: dict[str, Any]) -> None:
        clause_data(data, "VBDA.THREATS")["dsa_keyword"] = "KEYWORD_MADE_UP"
        with pytest.raises(
            ValidationError,
            match=r"clause VBDA\.THREATS: DSA keyword 'KEYWORD_MADE_UP' is not listed under"
            r" STATEMENT_CATEGORY_CYBER_VIOLENCE",
        ):
            Taxonomy.model_validate(data)

    def test_dsa_keyword_of_another_category(self, data: dict[str, Any]) -> None:
        clause_data(data, "VBDA.THREATS")["dsa_keyword"] = "KEYWORD_PHISHING"
        with pytest.raises(
            ValidationError,
            match=r"DSA keyword 'KEYWORD_PHISHING' is not listed under"
            r" STATEMENT_CATEGORY_CYBER_VIOLENCE",
        ):
            Taxonomy.model_validate(data)

    def test_missing_language(self, data: dict[str, Any]) -> None:
        del clause_data(data, "HEX.GROOMING")["lexicon"]["pt"]
        with pytest.raises(
            ValidationError,
            match=r"clause HEX\.GROOMING: lexicon needs at least one term for each of"
            r" en, es, fr, de, pt; missing or empty: pt",
        ):
            Taxonomy.model_validate(data)

    def test_empty_language(self, data: dict[str, Any]) -> None:
        clause_data(data, "HEX.GROOMING")["lexicon"]["de"] = []
        with pytest.raises(ValidationError, match=r"clause HEX\.GROOMING: .*missing or empty: de"):
            Taxonomy.model_validate(data)

    def test_duplicate_lexicon_term_ignoring_case(self, data: dict[str, Any]) -> None:
        clause_data(data, "VBDA.THREATS")["lexicon"]["en"].append("I WILL KILL YOU")
        with pytest.raises(
            ValidationError, match=r"duplicate lexicon terms for 'en' \(ignoring case\)"
        ):
            Taxonomy.model_validate(data)

    def test_misspelt_key_is_rejected(self, data: dict[str, Any]) -> None:
        clause = clause_data(data, "INA.SCAMS")
        clause["dsa_keywrd"] = clause.pop("dsa_keyword")
        with pytest.raises(ValidationError, match=r"dsa_keywrd\s+Extra inputs are not permitted"):
            Taxonomy.model_validate(data)

    def test_bad_version(self, data: dict[str, Any]) -> None:
        data["version"] = "2026.13.0"
        with pytest.raises(ValidationError, match=r"version\s+String should match pattern"):
            Taxonomy.model_validate(data)

    def test_load_error_names_the_problem(self, tmp_path: Path, data: dict[str, Any]) -> None:
        data["version"] = "2026.12.0"
        del clause_data(data, "INA.SPAM")["lexicon"]["fr"]
        path = write(tmp_path, "taxonomy-2026.12.0.yaml", data)
        with pytest.raises(
            TaxonomyLoadError,
            match=r"(?s)taxonomy 2026\.12\.0 is invalid: .*clause INA\.SPAM: lexicon .*"
            r"missing or empty: fr",
        ):
            load_taxonomy(path)

    def test_file_name_must_match_version(self, tmp_path: Path, data: dict[str, Any]) -> None:
        path = write(tmp_path, "taxonomy-2026.12.0.yaml", data)
        with pytest.raises(
            TaxonomyLoadError,
            match=r"taxonomy-2026\.12\.0\.yaml holds version '2026\.11\.0';"
            r" the file name says '2026\.12\.0'",
        ):
            load_taxonomy(path)

    def test_top_level_must_be_a_mapping(self, tmp_path: Path) -> None:
        path = tmp_path / "taxonomy-2026.12.0.yaml"
        path.write_text("- just\n- a list\n", encoding="utf-8")
        with pytest.raises(TaxonomyLoadError, match=r"must hold a mapping at the top"):
            load_taxonomy(path)


class TestDiff:
    def test_same_taxonomy_is_empty(self, seed: Taxonomy) -> None:
        result = diff(seed, seed)
        assert result.is_empty
        assert (result.added, result.removed, result.changed) == ((), (), {})

    def test_reports_added_removed_and_changed_fields(
        self, tmp_path: Path, seed: Taxonomy, data: dict[str, Any]
    ) -> None:
        data["version"] = "2026.12.0"
        hex_area = area_data(data, "HEX")
        hex_area["clauses"].remove(clause_data(data, "HEX.ORGAN_TRADE"))
        promotion = copy.deepcopy(clause_data(data, "INA.SPAM"))
        promotion["id"] = "INA.UNDISCLOSED_PROMOTION"
        promotion["title"] = "Undisclosed paid promotion"
        area_data(data, "INA")["clauses"].append(promotion)
        slurs = clause_data(data, "HATE.SLURS")
        slurs["title"] = "Slurs and coded slurs"
        slurs["lexicon"]["en"].append("[slur:coded]")
        clause_data(data, "VBDA.THREATS")["dsa_keyword"] = None
        # Area text and clause order are not clause content, so they must not show as changes.
        area_data(data, "HATE")["description"] += " Reviewed for the December release."
        area_data(data, "VBDA")["clauses"].reverse()
        new = load_taxonomy(write(tmp_path, "taxonomy-2026.12.0.yaml", data))

        result = diff(seed, new)

        assert (result.old_version, result.new_version) == ("2026.11.0", "2026.12.0")
        assert result.added == ("INA.UNDISCLOSED_PROMOTION",)
        assert result.removed == ("HEX.ORGAN_TRADE",)
        assert result.changed == {
            "HATE.SLURS": ("lexicon", "title"),
            "VBDA.THREATS": ("dsa_keyword",),
        }
        assert not result.is_empty

    def test_reverse_diff_swaps_added_and_removed(
        self, seed: Taxonomy, data: dict[str, Any]
    ) -> None:
        data["version"] = "2026.12.0"
        area_data(data, "INA")["clauses"].remove(clause_data(data, "INA.CIVIC_DISCOURSE"))
        clause_data(data, "HEX.GROOMING")["negative_examples"].append("Story time with grandma.")
        new = Taxonomy.model_validate(data)

        forward, backward = diff(seed, new), diff(new, seed)

        assert (forward.added, forward.removed) == ((), ("INA.CIVIC_DISCOURSE",))
        assert (backward.added, backward.removed) == (("INA.CIVIC_DISCOURSE",), ())
        assert forward.changed == backward.changed == {"HEX.GROOMING": ("negative_examples",)}


ALL_DSA_CATEGORIES = sorted([*DSA_CATEGORIES, *DSA_LEGACY_CATEGORIES])


class TestDsaMapping:
    def test_every_category_has_a_default(self) -> None:
        assert sorted(DSA_CATEGORY_DEFAULTS) == ALL_DSA_CATEGORIES
        assert len(ALL_DSA_CATEGORIES) == 20

    @pytest.mark.parametrize("category", ALL_DSA_CATEGORIES)
    def test_category_default_is_a_seed_clause(self, seed: Taxonomy, category: str) -> None:
        default = DSA_CATEGORY_DEFAULTS[category]
        assert default.clause_id in seed.clause_ids()
        assert default.clause_id.split(".", 1)[0] == default.area

    def test_keyword_defaults_are_known_keywords_and_seed_clauses(self, seed: Taxonomy) -> None:
        assert [key for key in DSA_KEYWORD_DEFAULTS if not is_dsa_keyword(key)] == []
        missing = sorted(
            clause_id
            for clause_id in DSA_KEYWORD_DEFAULTS.values()
            if clause_id not in seed.clause_ids()
        )
        assert missing == []

    def test_every_seed_clause_reports_under_a_current_category(self, seed: Taxonomy) -> None:
        assert [c.id for c in seed.clauses() if c.dsa_category not in DSA_CATEGORIES] == []

    def test_keyword_beats_category(self) -> None:
        assert default_clause(
            "STATEMENT_CATEGORY_VIOLENCE", ["KEYWORD_OTHER", "KEYWORD_HUMAN_TRAFFICKING"]
        ) == DsaDefault("HEX", "HEX.TRAFFICKING", False)

    def test_category_default_without_mapped_keyword(self) -> None:
        assert default_clause(
            "STATEMENT_CATEGORY_CONSUMER_INFORMATION", ["KEYWORD_HIDDEN_ADVERTISEMENT"]
        ) == DsaDefault("INA", "INA.SCAMS", True)

    def test_legacy_category(self) -> None:
        assert default_clause("STATEMENT_CATEGORY_UNSAFE_AND_ILLEGAL_PRODUCTS") == DsaDefault(
            "VBDA", "VBDA.WEAPONS_TRADE", True
        )

    def test_unknown_category_is_rejected(self) -> None:
        with pytest.raises(ValueError, match=r"unknown DSA category key 'STATEMENT_CATEGORY_X'"):
            default_clause("STATEMENT_CATEGORY_X")


class TestLoadGenerator:
    def test_generated_clauses_exist_in_the_seed(self) -> None:
        from pp_shared.devstack.loadgen import CLAUSES

        generated = {c for clauses in CLAUSES.values() for c in clauses}
        assert generated <= set(load_taxonomy().clause_ids())
        assert len(generated) == 48
