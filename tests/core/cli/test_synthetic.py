"""Tests for core.cli.synthetic: `python -m core.synthetic` writes a tree and says so in a line; bad arguments get one line."""
from __future__ import annotations

import pytest

from core.cli.synthetic import main

LABELS_CSV = "validation_data/C-NMC_test_prelim_phase_data_labels.csv"


def test_cli_writes_and_summarises(tmp_path, capsys):
    assert main([str(tmp_path), "--subjects", "4", "--images-per-subject", "1", "--seed", "2"]) == 0
    output = capsys.readouterr().out.strip()
    assert "\n" not in output and str(tmp_path / "C-NMC_Leukemia") in output and "images/s" in output
    assert (tmp_path / "C-NMC_Leukemia" / LABELS_CSV).is_file()


@pytest.mark.parametrize("arguments, code, message", [
    (["--subjects", "3"], 2, "at least 4"),
    (["--subjects", "four"], 2, "invalid int value"),
    (["--images-per-subject", "0"], 2, "images_per_subject"),
    (["--no-such-flag"], 2, "unrecognized arguments"),
])
def test_cli_rejects_bad_arguments_in_one_line(tmp_path, capsys, arguments, code, message):
    assert main([str(tmp_path), *arguments]) == code
    error = capsys.readouterr().err.strip()
    assert error.startswith("error:") and message in error and "\n" not in error
    assert not (tmp_path / "C-NMC_Leukemia").exists()


def test_cli_reports_unwritable_and_existing_folders(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    assert main([str(blocker / "inside"), "--subjects", "4"]) == 1
    assert "cannot write" in capsys.readouterr().err
    assert main([str(tmp_path), "--subjects", "4", "--images-per-subject", "1"]) == 0
    assert main([str(tmp_path), "--subjects", "4", "--images-per-subject", "1"]) == 1
    assert "--overwrite" in capsys.readouterr().err
    assert main([str(tmp_path), "--subjects", "4", "--images-per-subject", "1", "--overwrite"]) == 0
