"""The code is lint-clean: `python -m ruff check .` with the rule set in ruff.toml finds nothing.

The rules (syntax, pyflakes, bugbear and a few pycodestyle errors) are argued for in ruff.toml.
Under CI a missing ruff fails this test; elsewhere it is skipped with how to install it.
"""
from __future__ import annotations

import importlib.util
import subprocess
import sys

from paths import PROJECT_ROOT
from requirements import require

RUFF_HINT = "install it with the test tools: python3 -m pip install -r requirements-dev.txt"


def test_ruff_finds_nothing():
    require(importlib.util.find_spec("ruff") is not None, f"ruff is not installed: {RUFF_HINT}")
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise", "."],
                            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"ruff found:\n{result.stdout}{result.stderr}"
