"""Tests for `python -m core.cli.subjects`: it adds the subject-level evaluation to a model trained without it."""
from __future__ import annotations

import json
import shutil

import pytest
from older_models import as_model_from_before_the_roles

from core import config
from core.cli import subjects


@pytest.fixture
def old_model(trained_model_path, tmp_path):
    """A copy of the real trained model and its files, its sidecar stripped of "subject_evaluation"."""
    for file in trained_model_path.parent.iterdir():
        if file.name.startswith(trained_model_path.stem) and file.is_file():
            shutil.copy(file, tmp_path / file.name)
    path = tmp_path / trained_model_path.name
    sidecar = json.loads(config.sidecar_path(path).read_text())
    sidecar.pop("subject_evaluation")
    config.sidecar_path(path).write_text(json.dumps(sidecar))
    return path


def test_reproduces_what_training_wrote_and_keeps_the_hash(old_model, trained_sidecar, capsys):
    assert subjects.main(["--model", str(old_model)]) == 0
    after = json.loads(config.sidecar_path(old_model).read_text())
    # Training answered subjects from the very values the predictions CSVs hold, so the command reproduces it exactly.
    assert after["subject_evaluation"] == trained_sidecar["subject_evaluation"]
    assert after["sha256"] == trained_sidecar["sha256"]
    out = capsys.readouterr().out
    assert out.startswith("Held-out subjects, mean log-odds of the cells:")
    for row in after["subject_evaluation"]["held_out"]["rows"]:
        assert f"  {row['subject']}\t{row['cells']} cells\tscore {row['score']:.3f}" in out


def test_the_held_out_subjects_are_the_tuning_and_calibration_subjects(old_model, trained_sidecar):
    assert subjects.main(["--model", str(old_model)]) == 0
    after = json.loads(config.sidecar_path(old_model).read_text())
    roles = trained_sidecar["split_roles"]
    assert {row["subject"] for row in after["subject_evaluation"]["held_out"]["rows"]} == set(roles["tuning"]) | set(roles["calibration"])


def test_predictions_of_another_split_are_refused(old_model, capsys):
    split_csv = old_model.with_name(old_model.stem + ".split.csv")
    split_csv.write_text("\n".join(line for line in split_csv.read_text().splitlines() if not line.endswith(",calibration")) + "\n")
    assert subjects.main(["--model", str(old_model)]) == 2
    assert "not this model's" in capsys.readouterr().err


def test_a_model_from_before_the_roles_is_answered_from_its_validation_set_with_a_note(old_model, capsys):
    as_model_from_before_the_roles(old_model)
    assert subjects.main(["--model", str(old_model)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("note: this model was trained before the three roles") and "Held-out subjects, " in out


def test_a_missing_model_is_one_line_and_exit_2(tmp_path, capsys):
    assert subjects.main(["--model", str(tmp_path / "none.keras")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("subjects: error: ") and error.count("\n") == 1 and "Traceback" not in error
