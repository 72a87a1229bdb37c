from __future__ import annotations

import json
from pathlib import Path

import pytest

from pp_classifier.training.features import FeatureSpec
from pp_classifier.training.fit import train_model
from pp_classifier.training.model import TrainingParams
from pp_shared.devstack.cli import main

ROWS = [
    ("I will kill you", "threat"),
    ("te voy a matar", "threat"),
    ("pay or I send your nudes", "sextortion"),
    ("lovely weather today", "fine"),
    ("", "fine"),
]
LABEL_MAP = {"threat": "VBDA.THREATS", "sextortion": "HEX.SEXTORTION", "fine": "none"}


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "rows.csv"
    lines = ["id,body,verdict"] + [f'{i},"{t}",{label}' for i, (t, label) in enumerate(ROWS)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "map.json").write_text(json.dumps(LABEL_MAP), encoding="utf-8")
    return path


class TestEval:
    def test_rules_alone_report_exact_figures(
        self, data: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        report = data.parent / "report.json"
        code = main(
            [
                "classifier",
                "eval",
                "--data",
                str(data),
                "--text-column",
                "body",
                "--label-column",
                "verdict",
                "--label-map",
                str(data.parent / "map.json"),
                "--layers",
                "rules",
                "--json",
                str(report),
            ]
        )
        assert code == 0
        out = capsys.readouterr().out
        assert "== per area ==" in out
        assert "== per clause ==" in out
        assert "throughput: " in out
        result = json.loads(report.read_text())
        assert result["texts"] == 5
        assert result["clauses"]["labels"] == ["none", "HEX.SEXTORTION", "VBDA.THREATS"]
        assert result["clauses"]["confusion"] == [[2, 0, 0], [0, 1, 0], [0, 0, 2]]
        assert result["areas"]["labels"] == ["none", "HEX", "VBDA"]
        assert result["clauses"]["macro_f1"] == 1.0
        assert [r["support"] for r in result["areas"]["per_class"]] == [2, 1, 2]

    def test_labels_outside_the_map_are_named(
        self, data: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        (data.parent / "map.json").write_text('{"threat": "VBDA.THREATS"}', encoding="utf-8")
        args = ["classifier", "eval", "--data", str(data), "--text-column", "body"]
        args += ["--label-column", "verdict", "--label-map", str(data.parent / "map.json")]
        assert main(args) == 2
        assert capsys.readouterr().err == (
            "policypulse classifier: labels missing from the label map: fine, sextortion\n"
        )

    def test_labels_that_are_no_clause_are_named(
        self, data: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        args = ["classifier", "eval", "--data", str(data), "--text-column", "body"]
        assert main([*args, "--label-column", "verdict", "--layers", "rules"]) == 2
        assert capsys.readouterr().err == (
            "policypulse classifier: not clause ids of taxonomy 2026.11.0 (nor 'none'):"
            " fine, sextortion, threat\n"
        )

    def test_a_missing_column_lists_the_columns(
        self, data: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        args = ["classifier", "eval", "--data", str(data), "--text-column", "text"]
        assert main([*args, "--label-column", "verdict"]) == 2
        assert capsys.readouterr().err == (
            f"policypulse classifier: {data}: no column text (columns: id, body, verdict)\n"
        )


class TestTag:
    def test_every_row_in_order_with_its_tags(self, data: Path) -> None:
        out = data.parent / "tags.jsonl"
        args = ["classifier", "tag", "--data", str(data), "--text-column", "body"]
        assert main([*args, "--output", str(out)]) == 0
        lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        assert [line["row"] for line in lines] == [1, 2, 3, 4, 5]
        firsts = [line["tags"][0] for line in lines]
        assert [(t["clause_id"], t["method"]) for t in firsts[:3]] == [
            ("VBDA.THREATS", "rule"),
            ("VBDA.THREATS", "rule"),
            ("HEX.SEXTORTION", "rule"),
        ]
        assert lines[4]["tags"] == [
            {
                "area": "unclassified",
                "clause_id": "unclassified",
                "method": "none",
                "confidence": 0.0,
            }
        ]
        assert set(firsts[0]) == {"area", "clause_id", "method", "confidence"}


class TestModelFile:
    def test_eval_and_tag_with_a_downloaded_model(
        self, data: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        model = train_model(
            ["buy cheap followers now", "cheap likes buy now", "nice weather", "lovely dinner"],
            ["INA.FAKE_ENGAGEMENT", "INA.FAKE_ENGAGEMENT", "none", "none"],
            taxonomy_version="2026.11.0",
            name="file",
            params=TrainingParams(features=FeatureSpec(hash_bits=16, min_df=1)),
        )
        path = data.parent / "model.npz"
        path.write_bytes(model.to_bytes())
        args = ["--data", str(data), "--text-column", "body", "--model", str(path)]
        labels = ["--label-column", "verdict", "--label-map", str(data.parent / "map.json")]
        assert main(["classifier", "eval", *args, *labels]) == 0
        captured = capsys.readouterr()
        assert captured.err == (
            f"policypulse classifier: model {model.version} (taxonomy 2026.11.0) loaded\n"
        )
        assert f"tagger: layers=all taxonomy=2026.11.0 model={model.version}\n" in captured.out
        # The model's four training texts are not among the rows: all five are scored.
        assert "(5 rows scored)" in captured.out
        out = data.parent / "tags.jsonl"
        assert main(["classifier", "tag", *args, "--output", str(out)]) == 0
        assert len(out.read_text(encoding="utf-8").splitlines()) == 5

    def test_a_file_that_is_no_model_is_refused(
        self, data: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        bad = data.parent / "bad.npz"
        bad.write_bytes(b"nope")
        args = ["classifier", "tag", "--data", str(data), "--text-column", "body"]
        assert main([*args, "--model", str(bad)]) == 2
        assert capsys.readouterr().err.startswith(
            f"policypulse classifier: {bad}: not a serialised clause model"
        )
