"""Indexing never follows a link out of the dataset folder, and a file-system error is a readable DatasetError."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from core.data.index import index_dataset
from core.data.layout import SPLIT_FOLDERS, VALIDATION_CSV
from core.errors import DatasetError


@pytest.fixture
def tree(tmp_path: Path, synthetic_data_root: Path) -> Path:
    """A private copy of the small synthetic C-NMC tree that a test may spoil."""
    return Path(shutil.copytree(synthetic_data_root, tmp_path / "C-NMC_Leukemia"))


def test_an_image_linked_from_outside_is_skipped(tree, tmp_path):
    outside = tmp_path / "outside.bmp"
    shutil.copy(next((tree / SPLIT_FOLDERS["fold_0"] / "all").glob("*.bmp")), outside)
    (tree / SPLIT_FOLDERS["fold_0"] / "all" / "UID_99_1_1_all.bmp").symlink_to(outside)
    index = index_dataset(tree)
    assert all(record.path.name != "UID_99_1_1_all.bmp" for record in index.records)
    assert any("1 link(s) leading outside" in warning for warning in index.warnings)
    assert not any(str(outside) in warning for warning in index.warnings)


def test_a_link_inside_the_tree_is_still_indexed(tree):
    source = next((tree / SPLIT_FOLDERS["fold_0"] / "all").glob("*.bmp"))
    (tree / SPLIT_FOLDERS["fold_0"] / "all" / "UID_98_1_1_all.bmp").symlink_to(source)
    assert any(record.path.name == "UID_98_1_1_all.bmp" for record in index_dataset(tree).records)


def test_a_labels_csv_linked_outside_is_not_read_nor_echoed(tree, tmp_path):
    secret = tmp_path / "passwd"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
    (tree / VALIDATION_CSV).unlink()
    (tree / VALIDATION_CSV).symlink_to(secret)
    index = index_dataset(tree)
    assert all(record.label is None for record in index.by_split("validation"))
    assert not any("root:x" in warning for warning in index.warnings)
    assert any("leading outside the dataset folder" in warning for warning in index.warnings)


def test_an_unreadable_folder_is_a_dataset_error(tree, monkeypatch):
    real_scandir = os.scandir
    locked = str(tree / SPLIT_FOLDERS["fold_1"] / "hem")

    def scandir(path="."):
        if str(path) == locked:
            raise PermissionError(13, "Permission denied", locked)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    with pytest.raises(DatasetError, match="Could not read hem .*Permission denied"):
        index_dataset(tree)


def test_a_class_folder_linked_outside_is_left_out(tree, tmp_path):
    class_folder = tree / SPLIT_FOLDERS["fold_0"] / "all"
    outside = Path(shutil.move(class_folder, tmp_path / "elsewhere"))
    class_folder.symlink_to(outside, target_is_directory=True)
    index = index_dataset(tree)
    assert not [record for record in index.records if record.split == "fold_0" and record.label == "all"]
    assert [record for record in index.records if record.split == "fold_0" and record.label == "hem"]
    assert any(f"{class_folder} is a link leading outside the dataset folder" in warning for warning in index.warnings)
    assert not any(str(outside) in warning for warning in index.warnings)


def test_a_class_folder_linked_inside_the_tree_is_still_indexed(tree):
    class_folder = tree / SPLIT_FOLDERS["fold_1"] / "all"
    shutil.rmtree(class_folder)
    class_folder.symlink_to(tree / SPLIT_FOLDERS["fold_0"] / "all", target_is_directory=True)
    assert [record for record in index_dataset(tree).records if record.split == "fold_1" and record.label == "all"]
