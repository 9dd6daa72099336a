"""Tests for `python -m core.cli.calibrate`: it adds the calibration keys to a model trained without them."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
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


def test_predictions_of_another_split_are_refused(old_model, capsys):
    split_csv = old_model.with_name(old_model.stem + ".split.csv")
    lines = split_csv.read_text().splitlines()
    kept = [line for line in lines if not line.endswith(",validation")]
    split_csv.write_text("\n".join(kept) + "\n")
    assert calibrate.main(["--model", str(old_model)]) == 2
    assert "not this model's" in capsys.readouterr().err


def test_missing_model_files_give_one_line_and_exit_2(tmp_path):
    completed = subprocess.run([sys.executable, "-m", "core.cli.calibrate", "--model", str(tmp_path / "none.keras")],
                               cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 2
    # TensorFlow may log on import (core.model.store loads Keras); ours is one line, and the last.
    ours = [line for line in completed.stderr.splitlines() if "calibrate" in line]
    assert len(ours) == 1 and completed.stderr.strip().splitlines()[-1].startswith("calibrate: error: none.json is missing")
    assert "Traceback" not in completed.stderr
