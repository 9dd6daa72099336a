"""Tests for core.data.synthetic: the C-NMC layout of the generated tree, its files and its recipe."""
from __future__ import annotations

import csv
import re
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.data.layout import SYNTHETIC_MARKER
from core.errors import DatasetError
from core.data.synthetic import _plan_subjects, generate_dataset, is_synthetic, recipe_text, recorded_recipe

TRAINING_NAME = re.compile(r"^UID_(H?\d+|h\d+)_\d+_\d+_(all|hem)\.bmp$")
NUMBERED_NAME = re.compile(r"^[1-9]\d*\.bmp$")
LABELS_CSV = "validation_data/C-NMC_test_prelim_phase_data_labels.csv"
VALIDATION_DIR = "validation_data/C-NMC_test_prelim_phase_data"
TEST_DIR = "testing_data/C-NMC_test_final_phase_data"


@pytest.fixture(scope="module")
def dataset_root(tmp_path_factory) -> Path:
    """A small synthetic tree: 6 training subjects, about 3 cells each."""
    return generate_dataset(tmp_path_factory.mktemp("synthetic"), subjects=6, images_per_subject=3, seed=0)


def subject_of(name: str) -> str:
    return name.split("_")[1]


def training_files(root: Path) -> list[Path]:
    return sorted((root / "training_data").glob("fold_*/*/*.bmp"))


def read_labels(root: Path) -> list[dict[str, str]]:
    with (root / LABELS_CSV).open(newline="") as handle:
        return list(csv.DictReader(handle))

def test_returns_dataset_root(dataset_root):
    assert dataset_root.name == "C-NMC_Leukemia"
    assert sorted(path.name for path in dataset_root.iterdir()) == ["SYNTHETIC_DATA.md", "testing_data", "training_data", "validation_data"]
    assert is_synthetic(dataset_root)


def test_training_names_and_folders(dataset_root):
    files = training_files(dataset_root)
    assert files
    for path in files:
        match = TRAINING_NAME.match(path.name)
        assert match, path.name
        assert path.parent.name == match.group(2), "class folder must match the name's suffix"
        assert path.parent.parent.name in {"fold_0", "fold_1", "fold_2"}
        assert (match.group(1)[0] in "Hh") == (match.group(2) == "hem"), "H prefix only for healthy subjects"


def test_every_fold_holds_both_classes_and_fold_2_has_the_lower_case_subject(dataset_root):
    for fold in range(3):
        for label in ("all", "hem"):
            assert list((dataset_root / "training_data" / f"fold_{fold}" / label).glob("*.bmp")), (fold, label)
    lower_case = {subject_of(path.name) for path in training_files(dataset_root) if path.name.startswith("UID_h")}
    assert len(lower_case) == 1
    assert all(path.parent.parent.name == "fold_2"
               for path in training_files(dataset_root) if path.name.startswith("UID_h"))
    upper_numbers = {subject_of(path.name) for path in training_files(dataset_root) if path.name.startswith("UID_H")}
    assert next(iter(lower_case)).upper() not in upper_numbers, "h<n> must stay a distinct subject"


def test_each_subject_lies_in_one_fold(dataset_root):
    folds: dict[str, set[str]] = {}
    for path in training_files(dataset_root):
        folds.setdefault(subject_of(path.name), set()).add(path.parent.parent.name)
    assert len(folds) == 6
    assert all(len(subject_folds) == 1 for subject_folds in folds.values())


def test_validation_csv_matches_files_and_names(dataset_root):
    rows = read_labels(dataset_root)
    assert list(rows[0].keys()) == ["Patient_ID", "new_names", "labels"]
    files = sorted(path.name for path in (dataset_root / VALIDATION_DIR).iterdir())
    assert sorted(row["new_names"] for row in rows) == files
    assert sorted(int(name.split(".")[0]) for name in files) == list(range(1, len(files) + 1))
    for row in rows:
        match = TRAINING_NAME.match(row["Patient_ID"])
        assert match, row["Patient_ID"]
        assert row["labels"] == ("1" if match.group(2) == "all" else "0")
    assert {row["labels"] for row in rows} == {"0", "1"}


def test_test_folder_is_numbered_and_unlabelled(dataset_root):
    names = [path.name for path in (dataset_root / TEST_DIR).iterdir()]
    assert names and all(NUMBERED_NAME.match(name) for name in names)
    assert sorted(int(name.split(".")[0]) for name in names) == list(range(1, len(names) + 1))
    assert [path.name for path in (dataset_root / "testing_data").iterdir()] == ["C-NMC_test_final_phase_data"]


def test_evaluation_subjects_are_distinct_from_training(dataset_root):
    training = {subject_of(path.name).upper() for path in training_files(dataset_root)}
    validation = {subject_of(row["Patient_ID"]).upper() for row in read_labels(dataset_root)}
    assert validation and not training & validation


@pytest.mark.parametrize("subjects, hem_subjects", [(4, 2), (5, 2), (6, 3), (24, 8), (47, 16)])
def test_plan_splits_classes_and_keeps_subjects_distinct(subjects, hem_subjects):
    plan = _plan_subjects(np.random.default_rng(0), subjects, images_per_subject=10)
    names = [subject.name.upper() for subject in plan]
    assert len(set(names)) == len(names), "no subject may appear in two splits"
    training = [subject for subject in plan if subject.split == "train"]
    assert len(training) == subjects
    assert sum(subject.label == "hem" for subject in training) == hem_subjects, "about 2:1 all:hem"
    for split in ("validation", "test"):
        labels = {subject.label for subject in plan if subject.split == split}
        assert len([s for s in plan if s.split == split]) == max(2, subjects // 4) and labels == {"all", "hem"}
    assert all(8 <= subject.image_count <= 12 for subject in plan), "images per subject vary by +-20 %"


def test_images_are_450_rgb_cells_on_black(dataset_root):
    paths = training_files(dataset_root)[:4] + sorted((dataset_root / TEST_DIR).glob("*.bmp"))[:2]
    for path in paths:
        image_bgr = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        assert image_bgr.shape == (450, 450, 3) and image_bgr.dtype == np.uint8
        border = np.concatenate([image_bgr[:5].reshape(-1, 3), image_bgr[-5:].reshape(-1, 3),
                                 image_bgr[:, :5].reshape(-1, 3), image_bgr[:, -5:].reshape(-1, 3)])
        assert border.max() == 0
        cell = image_bgr[image_bgr.max(axis=2) > 0]
        assert 0.05 < len(cell) / 450**2 < 0.5
        blue, green, red = cell.mean(axis=0)
        assert green < red and green < blue, "stain should be violet"


def test_same_seed_gives_identical_files_and_another_seed_does_not(tmp_path):
    def contents(folder: Path, seed: int) -> dict[str, bytes]:
        root = generate_dataset(folder, subjects=4, images_per_subject=2, seed=seed, image_size=96)
        return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}

    first = contents(tmp_path / "a", 7)
    assert first == contents(tmp_path / "b", 7)
    assert first != contents(tmp_path / "c", 8)


def test_extra_training_subjects_widen_the_folds_and_leave_the_evaluation_sets_byte_identical(tmp_path):
    """The demo widens its training folds for three roles; its external set must stay the very same cells."""
    def files(root: Path, folder: str) -> dict[str, bytes]:
        return {str(path.relative_to(root)): path.read_bytes() for path in sorted((root / folder).rglob("*")) if path.is_file()}

    base = generate_dataset(tmp_path / "base", subjects=8, images_per_subject=4, seed=5, image_size=64)
    wide = generate_dataset(tmp_path / "wide", subjects=8, images_per_subject=4, seed=5, image_size=64,
                            extra_training_subjects=9, training_images_per_subject=2)
    for folder in ("validation_data", "testing_data"):
        assert files(base, folder) == files(wide, folder), folder
    subjects = {(subject_of(path.name).upper(), path.parent.name, path.parts[-3]) for path in training_files(wide)}
    assert len({name for name, _, _ in subjects}) == 8 + 9, "every extra subject has a name of its own"
    assert sum(label == "hem" for _, label, _ in subjects) == 3 + 3  # about 2:1 all:hem among the extras too
    assert len({fold for _, _, fold in subjects}) == 3 and len(training_files(wide)) < len(training_files(base)) + 9 * 4
    training = {subject_of(path.name).upper() for path in training_files(wide)}
    assert not training & {subject_of(row["Patient_ID"]).upper() for row in read_labels(wide)}
    assert recorded_recipe(wide) == "subjects=8, images_per_subject=4, seed=5, extra_training_subjects=9, training_images_per_subject=2"
    assert recorded_recipe(base) == recipe_text(8, 4, 5) and recorded_recipe(tmp_path) is None


def test_demo_data_of_an_older_recipe_is_drawn_again(tmp_path, monkeypatch):
    """A data/demo from before the three roles (24 subjects) would leave too few for them: it is regenerated."""
    from core.data import synthetic
    from core.training import demo

    monkeypatch.setattr(demo, "DEMO_DATA", {**demo.DEMO_DATA, "images_per_subject": 1, "training_images_per_subject": 1})
    monkeypatch.setattr(synthetic, "generate_dataset", lambda *args, **kwargs: generate_dataset(*args, image_size=64, **kwargs))
    older = generate_dataset(tmp_path, subjects=4, images_per_subject=1, image_size=64)
    root = demo.ensure_demo_data(tmp_path)
    assert root == older and recorded_recipe(root) == recipe_text(24, 1, 0, 18, 1)
    assert len({subject_of(path.name) for path in training_files(root)}) == 42
    stamp = (root / SYNTHETIC_MARKER).stat().st_mtime_ns
    assert demo.ensure_demo_data(tmp_path) == root  # the current recipe is kept as it is
    assert (root / SYNTHETIC_MARKER).stat().st_mtime_ns == stamp


def test_generation_is_fast_enough(tmp_path):
    """At least 30 images per CPU-second including BMP writing (typically 200-700).

    CPU time, not wall time, so that a busy CI machine does not make the test flaky.
    """
    started = time.process_time()
    root = generate_dataset(tmp_path, subjects=4, images_per_subject=15, seed=1)
    count = sum(1 for _ in root.rglob("*.bmp"))
    rate = count / (time.process_time() - started)
    assert rate >= 30, f"{rate:.0f} images per CPU-second"


def test_refuses_to_overwrite_unless_asked(tmp_path):
    generate_dataset(tmp_path, subjects=4, images_per_subject=1)
    with pytest.raises(DatasetError, match="overwrite"):
        generate_dataset(tmp_path, subjects=4, images_per_subject=1)
    root = generate_dataset(tmp_path, subjects=4, images_per_subject=1, seed=3, overwrite=True)
    assert len(list((root / "training_data").glob("fold_*/*/*.bmp"))) == 4
