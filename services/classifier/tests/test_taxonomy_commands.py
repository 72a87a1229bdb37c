from __future__ import annotations

from pathlib import Path

import pytest

from pp_classifier.taxonomy.document import _seed_files
from pp_shared.devstack.cli import main

SEED_VERSION = "2026.11.0"


class TestTaxonomyCommands:
    def test_validate_prints_counts(self, capsys: pytest.CaptureFixture[str]) -> None:
        seed = str(_seed_files()[SEED_VERSION])
        assert main(["taxonomy", "validate", seed]) == 0
        assert capsys.readouterr().out == (
            "taxonomy 2026.11.0 is valid: 48 clauses (HATE 16, VBDA 11, HEX 11, INA 10)\n"
        )

    def test_invalid_file_exits_2_with_reason(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        bad = tmp_path / "taxonomy-2026.12.0.yaml"
        bad.write_text("version: '2026.12.1'\n", encoding="utf-8")
        assert main(["taxonomy", "validate", str(bad)]) == 2
        assert capsys.readouterr().err == (
            "policypulse taxonomy: taxonomy file taxonomy-2026.12.0.yaml holds version"
            " '2026.12.1'; the file name says '2026.12.0'\n"
        )
