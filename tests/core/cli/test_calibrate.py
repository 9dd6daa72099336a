"""Tests for `python -m core.cli.calibrate`: it adds the calibration keys to a model trained without them."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from older_models import as_model_from_before_the_roles
from paths import PROJECT_ROOT

from core import config
from core.cli import calibrate
from core.model.calibration import Calibration


@pytest.fixture
def old_model(trained_model_path, tmp_path):
    """A copy of the real trained model and its files, its sidecar stripped of every calibration key."""
    for file in trained_model_path.parent.iterdir():
        if file.name.startswith(trained_model_path.stem) and file.is_file():
            shutil.copy(file, tmp_path / file.name)
    path = tmp_path / trained_model_path.name
    sidecar = json.loads(config.sidecar_path(path).read_text())
    sidecar.pop("calibration", None), sidecar.pop("conformal", None)
    for evaluation in sidecar["evaluation"].values():
        for key in ("before", "after", "temperature", "note"):
            evaluation["calibration"].pop(key, None)
        evaluation.pop("conformal", None)
    config.sidecar_path(path).write_text(json.dumps(sidecar))
    return path


def test_adds_the_keys_and_keeps_the_hash(old_model, trained_sidecar, capsys):
    before = json.loads(config.sidecar_path(old_model).read_text())
    assert Calibration.from_metadata(before) is None
    assert calibrate.main(["--model", str(old_model)]) == 0
    after = json.loads(config.sidecar_path(old_model).read_text())
    assert after["sha256"] == before["sha256"] == trained_sidecar["sha256"]
    assert Calibration.from_metadata(after) is not None
    # Training fitted on the very values the predictions CSVs hold, so the command reproduces it exactly.
    assert after["calibration"] == trained_sidecar["calibration"] and after["conformal"] == trained_sidecar["conformal"]
    for name, evaluation in after["evaluation"].items():
        assert evaluation["conformal"] == trained_sidecar["evaluation"][name]["conformal"]
        assert evaluation["calibration"] == trained_sidecar["evaluation"][name]["calibration"]
    assert "T = " in capsys.readouterr().out


def test_it_fits_on_the_calibration_subjects_and_on_nothing_else(old_model, trained_sidecar):
    calibrate.main(["--model", str(old_model)])
    after = json.loads(config.sidecar_path(old_model).read_text())
    cells = after["evaluation"]["calibration"]["n_images"]
    assert sum(map(len, after["conformal"]["scores"].values())) == cells != after["evaluation"]["tuning"]["n_images"] + cells
    assert after["calibration"]["fitted_on"] == "held-out subjects of the calibration role"
    assert "in-sample" in after["evaluation"]["calibration"]["conformal"]["note"]
    assert "note" not in after["evaluation"]["tuning"]["conformal"] and "note" not in after["evaluation"]["external"]["conformal"]


@pytest.mark.parametrize("role", ["calibration", "tuning"])
def test_predictions_of_another_split_are_refused(old_model, capsys, role):
    """A split CSV whose calibration cells differ from the predictions is refused; the tuning rows play no part."""
    split_csv = old_model.with_name(old_model.stem + ".split.csv")
    lines = split_csv.read_text().splitlines()
    kept = [line for line in lines if not line.endswith(f",{role}")]
    split_csv.write_text("\n".join(kept) + "\n")
    assert calibrate.main(["--model", str(old_model)]) == (2 if role == "calibration" else 0)
    assert ("not this model's" in capsys.readouterr().err) == (role == "calibration")


def test_a_model_from_before_the_roles_is_fitted_on_its_validation_set_with_a_note(old_model, trained_sidecar, capsys):
    as_model_from_before_the_roles(old_model)
    assert calibrate.main(["--model", str(old_model)]) == 0
    after = json.loads(config.sidecar_path(old_model).read_text())
    assert after["calibration"]["temperature"] == trained_sidecar["calibration"]["temperature"]  # the same cells
    assert after["calibration"]["fitted_on"] == "held-out subjects"
    assert after["conformal"]["scores"] == trained_sidecar["conformal"]["scores"]
    out = capsys.readouterr().out
    assert out.startswith("note: this model was trained before the three roles") and "T = " in out


@pytest.mark.slow
def test_missing_model_files_give_one_line_and_exit_2(tmp_path):
    completed = subprocess.run([sys.executable, "-m", "core.cli.calibrate", "--model", str(tmp_path / "none.keras")],
                               cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 2
    # TensorFlow may log on import (core.model.store loads Keras); ours is one line, and the last.
    ours = [line for line in completed.stderr.splitlines() if "calibrate" in line]
    assert len(ours) == 1 and completed.stderr.strip().splitlines()[-1].startswith("calibrate: error: none.json is missing")
    assert "Traceback" not in completed.stderr
