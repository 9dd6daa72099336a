"""core.data.index_stamp: the dataset index's cache key changes when a file is added or removed in any folder it lists.

Folder times are set to a fixed past instant before the first stamp, so that a change made in the same
clock tick still shows (no sleeping).
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from core.data.index import index_dataset
from core.data.index_stamp import LAYOUT_PATHS, index_stamp
from core.data.layout import SPLIT_FOLDERS, VALIDATION_CSV

PAST_NS = 1_600_000_000 * 10**9  # September 2020.


@pytest.fixture
def tree(tmp_path: Path, synthetic_data_root: Path) -> Path:
    """A private copy of the small synthetic C-NMC tree, every folder and the CSV dated PAST_NS."""
    root = Path(shutil.copytree(synthetic_data_root, tmp_path / "C-NMC_Leukemia"))
    for relative in LAYOUT_PATHS:
        if (root / relative).exists():
            os.utime(root / relative, ns=(PAST_NS, PAST_NS))
    return root


def test_an_unchanged_tree_keeps_its_stamp_whichever_folder_names_it(tree):
    stamp = index_stamp(tree)
    assert index_stamp(tree) == stamp
    assert index_stamp(tree.parent) == stamp and index_stamp(tree / "training_data") == stamp


@pytest.mark.parametrize("folder", [f"{SPLIT_FOLDERS['fold_0']}/all", f"{SPLIT_FOLDERS['fold_2']}/hem",
                                    SPLIT_FOLDERS["validation"], SPLIT_FOLDERS["test"]])
def test_a_cell_added_deep_in_the_tree_changes_the_stamp_not_the_top_folder(tree, folder):
    stamp, top = index_stamp(tree), tree.stat().st_mtime_ns
    source = next((tree / SPLIT_FOLDERS["fold_0"] / "all").glob("*.bmp"))
    shutil.copy(source, tree / folder / "UID_97_1_1_all.bmp")
    assert tree.stat().st_mtime_ns == top  # What the old key looked at did not move.
    assert index_stamp(tree) != stamp
    assert any(record.path.name == "UID_97_1_1_all.bmp" for record in index_dataset(tree).records)


def test_a_cell_removed_changes_the_stamp(tree):
    stamp = index_stamp(tree)
    removed = next((tree / SPLIT_FOLDERS["fold_1"] / "hem").glob("*.bmp"))
    removed.unlink()
    assert index_stamp(tree) != stamp
    assert all(record.path != removed for record in index_dataset(tree).records)


def test_a_rewritten_labels_csv_changes_the_stamp(tree):
    stamp, csv_path = index_stamp(tree), tree / VALIDATION_CSV
    csv_path.write_text(csv_path.read_text())  # Same content, written now.
    assert index_stamp(tree) != stamp


def test_a_folder_that_is_not_a_dataset_yet_gets_a_stamp_that_moves_when_it_changes(tmp_path):
    folder = tmp_path / "later"
    missing = index_stamp(folder)
    folder.mkdir()
    os.utime(folder, ns=(PAST_NS, PAST_NS))
    empty = index_stamp(folder)
    (folder / "training_data").mkdir()
    assert len({missing, empty, index_stamp(folder)}) == 3
