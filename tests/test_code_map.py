"""The README's code map names every module of core's rooms and of ui/, so a newcomer finds each in one guess."""
from __future__ import annotations

import re

import pytest
from paths import PROJECT_ROOT

ROOMS = ["core/data", "core/imaging", "core/imaging/fields", "core/model", "core/explain", "core/subjects", "core/reporting",
         "core/training", "core/cli", "core/serve", "ui"]


def code_map_rows() -> dict[str, str]:
    """The code map's rows of the README, by their first cell (`core/model/` -> the row's text)."""
    text = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    return {match.group(1).rstrip("/"): match.group(2) for match in re.finditer(r"^\| `([^`]+)` \|(.*)$", text, re.M)}


@pytest.mark.parametrize("room", ROOMS)
def test_every_module_of_a_room_is_named_in_its_row(room):
    row = code_map_rows().get(room)
    assert row is not None, f"The README's code map has no row for {room}/"
    named = set(re.findall(r"`([A-Za-z_][\w.]*)`", row))
    modules = sorted(path.stem for path in (PROJECT_ROOT / room).glob("*.py") if not path.stem.startswith("__"))
    missing = [module for module in modules if module not in named]
    assert not missing, f"The README's code map row for {room}/ does not name: {', '.join(missing)}"


def test_the_code_map_names_no_room_that_is_gone():
    for room in code_map_rows():
        if room.startswith(("core/", "ui", "app_pages", "tests", "benchmarks")) and not room.endswith(".py"):
            assert (PROJECT_ROOT / room).is_dir(), f"The README's code map names {room}/, which is not in the tree"
