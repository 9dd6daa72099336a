"""`python -m core.serve`'s refusals before anything starts: one line each, exit status 2, no traceback."""
from __future__ import annotations

import socket
import sys

import pytest

from core.serve import command


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_missing_model_is_one_line(tmp_path, capsys):
    assert command.main(["--model", str(tmp_path / "none.keras"), "--port", str(free_port())]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"No model file at {tmp_path / 'none.keras'}") and error.count("\n") == 1


def test_a_file_that_is_not_a_keras_archive_is_refused_before_ray_starts(tmp_path, capsys, monkeypatch):
    broken = tmp_path / "broken.keras"
    broken.write_bytes(b"not a zip")
    monkeypatch.setitem(sys.modules, "ray", None)  # Ray is never reached
    assert command.main(["--model", str(broken), "--port", str(free_port())]) == 2
    assert "broken.keras is not a Keras v3 archive" in capsys.readouterr().err


def test_a_port_in_use_is_one_line(tiny_model_path, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert command.main(["--model", str(tiny_model_path), "--port", str(port)]) == 2
    error = capsys.readouterr().err
    assert f"Cannot listen on 127.0.0.1:{port}" in error and "pass --port" in error and error.count("\n") == 1


def test_without_ray_it_says_how_to_install_it(tiny_model_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    assert command.main(["--model", str(tiny_model_path), "--port", str(free_port())]) == 2
    assert capsys.readouterr().err.strip() == "Ray is not installed: python3 -m pip install -r requirements-ray.txt"


@pytest.mark.parametrize("flags", [["--replicas", "0"], ["--cpus-per-replica", "0"]])
def test_flags_out_of_range_are_refused(flags):
    with pytest.raises(SystemExit):
        command.parse_args(flags)
