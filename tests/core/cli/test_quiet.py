"""The command lines print the project's lines only: TensorFlow's start-up chatter is filtered, its errors kept."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from paths import PROJECT_ROOT

from core.cli.quiet import START_UP_NOISE, filtered_stderr

# What TensorFlow prints on import on a machine without a GPU (seen on this project's CI machine).
START_UP_MARKERS = ("absl::InitializeLog", "cpu_feature_guard.cc", "To enable the following instructions",
                    "oneDNN", "cuda", "cuInit")


@pytest.mark.slow
def test_predict_on_a_cell_prints_no_tensorflow_start_up_lines(tiny_model_path, synthetic_data_root):
    cell = next((synthetic_data_root / "training_data").rglob("*.bmp"))
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}  # As a user runs it.
    completed = subprocess.run([sys.executable, "-m", "core.predict", "--model", str(tiny_model_path), str(cell)],
                               cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith(str(cell))
    noise = [line for line in completed.stderr.splitlines() if any(marker.lower() in line.lower() for marker in START_UP_MARKERS)]
    assert noise == []


def test_filtering_keeps_every_other_line_written_to_the_descriptor(capfd):
    with filtered_stderr():
        os.write(2, b"I0000 12:00:00.1 1 cpu_feature_guard.cc:227] This TensorFlow binary is optimized\n")
        os.write(2, b"To enable the following instructions: AVX2 FMA, in other operations, rebuild\n")
        os.write(2, b"E0000 12:00:00.2 1 some_op.cc:10] Out of memory while allocating a tensor\n")
        os.write(2, b"error: the model file is missing\n")
    assert capfd.readouterr().err.splitlines() == [
        "E0000 12:00:00.2 1 some_op.cc:10] Out of memory while allocating a tensor", "error: the model file is missing"]
    assert START_UP_NOISE.search("E0000 cuda_platform.cc:52] failed call to cuInit: INTERNAL")
