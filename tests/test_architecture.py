"""The layered layout holds: import-linter's contracts pass, fail on a planted wrong-way import, no cycles.

The contracts live in `.importlinter` (core: cli > training > reporting > explain > model >
imaging > data > config, errors; core never imports Streamlit or ui; only the Ray engines import
Ray, and ui and the layers below core.cli never reach it). The page rules
(app_pages/ holds only the seven screens, none imports another) are checked here with `ast`.
"""
from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

from paths import PROJECT_ROOT

from ui import navigation

LINT = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_cache=True, no_logo=True))"


def lint(root: Path) -> subprocess.CompletedProcess:
    """Run import-linter on the project copy at `root` (its `.importlinter`), in a fresh interpreter."""
    return subprocess.run([sys.executable, "-c", LINT], cwd=root, env={**os.environ, "PYTHONPATH": str(root)},
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """The packages and contracts of this project, copied so that a test can plant a bad import."""
    for package in ("core", "ui"):
        shutil.copytree(PROJECT_ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(PROJECT_ROOT / ".importlinter", tmp_path)
    return tmp_path


def test_the_contracts_are_kept():
    result = lint(PROJECT_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(("planted_in", "statement", "broken"), [
    ("core/data/planted.py", "from core.model import network\n", "core.data.planted -> core.model.network"),
    ("core/model/planted.py", "import core.cli.predict\n", "core.model.planted -> core.cli.predict"),
    ("core/imaging/planted.py", "import streamlit\n", "core.imaging.planted -> streamlit"),
    ("core/reporting/planted.py", "from ui import frame\n", "core.reporting.planted -> ui.frame"),
    ("core/cli/planted.py", "import ray\n", "core.cli.planted -> ray"),  # Only core.cli.ray_session imports Ray.
    ("ui/planted.py", "from core.cli import ray_engine\n", "ui.planted -> core.cli.ray_engine"),  # Not even through it.
])
def test_a_planted_wrong_way_import_breaks_a_contract(project_copy, planted_in, statement, broken):
    (project_copy / planted_in).write_text(statement)
    result = lint(project_copy)
    assert result.returncode != 0
    assert broken in result.stdout and "0 broken" not in result.stdout


def test_no_import_cycles_among_first_party_modules():
    graph = grimp.build_graph("core", "ui")
    cycles = sorted(
        f"{module} <-> {imported}"
        for module in graph.modules
        for imported in graph.find_modules_directly_imported_by(module)
        if graph.chain_exists(importer=imported, imported=module)
    )
    assert not cycles, cycles


def imported_modules(path: Path) -> set[str]:
    """Every module name a Python file imports (absolute imports)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_app_pages_holds_the_listed_screens_and_none_imports_another():
    """app_pages/ holds exactly the scripts ui.navigation lists, and no folder Streamlit scans sits beside the entrypoint."""
    folder = PROJECT_ROOT / navigation.PAGES_FOLDER
    files = {path.relative_to(PROJECT_ROOT).as_posix() for path in folder.iterdir() if path.suffix == ".py"}
    assert files == {screen.script for screen in navigation.SCREENS}
    assert not (PROJECT_ROOT / "pages").exists(), "Streamlit would run a script in pages/ without the entrypoint"
    for script in files:
        wrong = {module for module in imported_modules(PROJECT_ROOT / script) if module.split(".")[0] == folder.name}
        assert not wrong, f"{script} imports {wrong}"


def test_ui_never_imports_pages():
    for path in (PROJECT_ROOT / "ui").glob("*.py"):
        assert not {m for m in imported_modules(path) if m.split(".")[0] == navigation.PAGES_FOLDER}, path.name
