"""The child-process progress protocol: what goes in comes out, and every ending is reported."""
from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest

from core.training import worker
from paths import PROJECT_ROOT



def test_lines_round_trip_and_junk_is_ignored():
    assert worker.decode(worker.encode("progress", 0.25, "Epoch 1")) == {"kind": "progress", "fraction": 0.25, "message": "Epoch 1"}
    for junk in ["Epoch 1/14\n", "", "[1, 2]\n", '{"kind": "launch"}\n']:
        assert worker.decode(junk) is None


@pytest.mark.parametrize(("target", "exit_code", "last_kind"), [
    ("fake_builds:copy_tiny_model", 0, "done"),
    ("fake_builds:fail_readably", 1, "error"),
    ("fake_builds:missing", 1, "error"),
])
def test_run_reports_progress_then_how_it_ended(fake_build_env, target, exit_code, last_kind):
    (fake_build_env / "release").touch()
    protocol = io.StringIO()
    assert worker.run(target, [str(fake_build_env / "m.keras"), str(fake_build_env / "data")], protocol) == exit_code
    messages = [worker.decode(line) for line in protocol.getvalue().splitlines(keepends=True)]
    assert messages[-1]["kind"] == last_kind
    if last_kind == "done":
        assert [message["fraction"] for message in messages] == [0.5, 1.0, 1.0]


def test_command_line_keeps_prints_out_of_the_protocol(tmp_path):
    script = tmp_path / "noisy.py"
    script.write_text("def work(path, progress):\n    print('Epoch 1/14')\n    progress(1.0, 'ok')\n")
    result = subprocess.run([sys.executable, "-m", "core.training.worker", "noisy:work", str(tmp_path)], capture_output=True, text=True,
                            env={"PYTHONPATH": os.pathsep.join([str(tmp_path), str(PROJECT_ROOT)])}, timeout=60, check=False)
    assert result.returncode == 0
    assert [worker.decode(line)["kind"] for line in result.stdout.splitlines()] == ["progress", "done"]
    assert "Epoch 1/14" in result.stderr
