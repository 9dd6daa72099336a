"""python -m core.predict: one line per image, errors per file, exit codes, CSV."""
import argparse
import csv
import re
import subprocess
import sys

import numpy as np
import pytest

from core import config
from core.cli import predict
from core.model.calibration import conformal_thresholds

FORMATS_ADVICE = "Only BMP, PNG, JPEG or TIFF files are accepted: save or export the image as one and try again."


@pytest.mark.slow
def test_each_file_gets_a_line_and_bad_files_do_not_stop_the_others(tiny_model_path, synthetic_data_root, tmp_path, capsys):
    good = sorted((synthetic_data_root / "training_data").rglob("*.bmp"))[:2]
    corrupt = tmp_path / "corrupt.bmp"
    corrupt.write_bytes(b"BM" + b"\x00" * 40)
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    output_csv = tmp_path / "out.csv"
    code = predict.main(["--model", str(tiny_model_path), str(good[0]), str(corrupt), str(text), str(good[1]), "--csv", str(output_csv)])
    lines = capsys.readouterr().out.strip().splitlines()
    assert code == 1 and len(lines) == 4
    for good_path, line in ((good[0], lines[0]), (good[1], lines[3])):
        assert re.fullmatch(rf"{re.escape(str(good_path))}\t(all|hem)\t[01]\.\d{{4}}\t(all|hem|refer)\t([a-z_,]+|-)", line), line
    assert lines[1] == f"{corrupt}\tERROR\t'corrupt.bmp' could not be read and may be damaged. {FORMATS_ADVICE}"
    assert lines[2] == f"{text}\tERROR\t'notes.png' is not in an accepted format. {FORMATS_ADVICE}"
    rows = list(csv.DictReader(output_csv.open()))
    assert [row["file"] for row in rows] == [str(good[0]), str(corrupt), str(text), str(good[1])]


def test_a_folder_is_expanded_and_all_good_means_exit_zero(tiny_model_path, synthetic_data_root, capsys):
    folder = synthetic_data_root / "training_data" / "fold_0" / "hem"
    assert predict.main(["--model", str(tiny_model_path), str(folder)]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == len(list(folder.glob("*.bmp")))


def test_missing_model_is_one_clear_line(tmp_path, capsys):
    assert predict.main(["--model", str(tmp_path / "none.keras"), str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert "No model file" in error and "Traceback" not in error


def test_no_images_found_is_an_error(tiny_model_path, tmp_path, capsys):
    assert predict.main(["--model", str(tiny_model_path), str(tmp_path)]) == 1
    assert "no image files" in capsys.readouterr().err


@pytest.mark.slow
def test_runs_as_a_module_without_traceback(tiny_model_path, tmp_path):
    missing = tmp_path / "missing.bmp"
    result = subprocess.run([sys.executable, "-m", "core.cli.predict", "--model", str(tiny_model_path), str(missing)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stdout == f"{missing}\tERROR\t'missing.bmp' was not found at {missing}. Check the path and try again.\n"


def test_the_cli_and_the_conformal_rule_accept_the_same_error_rates():
    low, high = config.ERROR_RATE_RANGE
    scores = {"all": np.linspace(0, 1, 400), "hem": np.linspace(0, 1, 400)}
    for accepted in (low, 0.05, high):
        assert predict.error_rate(str(accepted)) == accepted
        assert set(conformal_thresholds(scores, accepted)) == {"all", "hem"}
    for refused in (low / 2, high + 0.01, 0.0, 0.5):
        with pytest.raises(argparse.ArgumentTypeError, match=f"between {low} and {high}"):
            predict.error_rate(str(refused))
        with pytest.raises(ValueError, match="error rate"):
            conformal_thresholds(scores, refused)
