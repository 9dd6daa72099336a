"""A synthetic stand-in for the C-NMC 2019 dataset, laid out exactly like the real download.

    C-NMC_Leukemia/training_data/fold_{0,1,2}/{all,hem}/UID_{subject}_{image}_{cell}_{class}.bmp
    C-NMC_Leukemia/validation_data/C-NMC_test_prelim_phase_data/{1..N}.bmp
    C-NMC_Leukemia/validation_data/C-NMC_test_prelim_phase_data_labels.csv
    C-NMC_Leukemia/testing_data/C-NMC_test_final_phase_data/{1..K}.bmp

Choices, documented because other modules and tests rely on them:
- `subjects` training subjects, about 2:1 all:hem (at least 2 hem, at least 3 once there are 6
  subjects so that every fold holds both classes), dealt round-robin over the three folds; each
  subject lies in one fold only. Healthy subjects are named `H<n>`; as in the real data one healthy
  subject in fold_2 is written with a lower-case `h` (its number is unique, so it is still distinct).
- Validation (labelled) and test (unlabelled) each get `max(2, subjects // 4)` further subjects,
  about 2:1 all:hem with at least one of each, disjoint from training and from each other.
- Each subject gets `images_per_subject` cells +-20 % (uniform, at least 1), like real subjects
  that contribute different numbers of cells. Validation and test files are numbered in a random
  order.
- The same seed gives byte-identical files: every subject draws from its own child seed.

Command line: `python -m core.synthetic OUT_DIR ...` (`core.cli.synthetic`).
"""
from __future__ import annotations

import csv
import shutil
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from core.data.labels import LABEL_CODES, LABELS
from core.data.layout import DATASET_FOLDER_NAME, SPLIT_FOLDERS, SYNTHETIC_MARKER, VALIDATION_CSV
from core.data.synthetic_cells import SubjectStyle, make_subject_style, render_cell
from core.errors import DatasetError

__all__ = ["SubjectStyle", "generate_dataset", "make_subject_style", "render_cell"]

FOLD_COUNT = 3
MIN_SUBJECTS = 4
VALIDATION_IMAGES = Path(SPLIT_FOLDERS["validation"])
VALIDATION_LABELS = Path(VALIDATION_CSV)
TEST_IMAGES = Path(SPLIT_FOLDERS["test"])


@dataclass(frozen=True)
class _Subject:
    """One planned subject: its name in file names, class, split ("train"/"validation"/"test") and fold."""

    name: str
    label: str
    split: str
    fold: int
    image_count: int


SYNTHETIC_NOTE = """# Synthetic data

Every image in this folder was drawn by `core.data.synthetic` (subjects={subjects}, seed={seed}).
It has the C-NMC 2019 layout but holds no real cell: models trained on it learn synthetic cells only.
"""


def is_synthetic(dataset_root: str | Path) -> bool:
    """True when the C-NMC folder was written by this generator (it carries the marker file)."""
    return (Path(dataset_root) / SYNTHETIC_MARKER).is_file()


def generate_dataset(out_dir: str | Path, *, subjects: int = 24, images_per_subject: int = 20,
                     seed: int = 0, image_size: int = 450, overwrite: bool = False) -> Path:
    """Writes a synthetic C-NMC_Leukemia folder under `out_dir`.

    Args:
        out_dir: parent folder; created if missing.
        subjects: number of training subjects (at least 4).
        images_per_subject: mean number of cells per subject (at least 1).
        seed: random seed; the same seed gives byte-identical files.
        image_size: side of the square BMP images in pixels (the real data: 450).
        overwrite: replace an existing non-empty `C-NMC_Leukemia` folder instead of refusing.

    Returns:
        The path `out_dir/C-NMC_Leukemia`.

    Raises:
        ValueError: an argument is out of range.
        DatasetError: the target folder exists, is not empty and `overwrite` is False.
        OSError: the folder cannot be created or written.
    """
    _check_arguments(subjects, images_per_subject, image_size)
    root = Path(out_dir).expanduser() / DATASET_FOLDER_NAME
    _prepare_root(root, overwrite)
    plan = _plan_subjects(np.random.default_rng(seed), subjects, images_per_subject)
    child_seeds = np.random.SeedSequence(seed).spawn(len(plan))
    numbering = np.random.default_rng(np.random.SeedSequence([seed, 1]))
    evaluation_numbers = {split: iter(numbering.permutation(_count(plan, split)) + 1)
                          for split in ("validation", "test")}
    label_rows: list[tuple[str, str, int]] = []
    for subject, child_seed in zip(plan, child_seeds):
        label_rows += _write_subject(root, subject, np.random.default_rng(child_seed), image_size, evaluation_numbers)
    _write_labels(root / VALIDATION_LABELS, label_rows)
    (root / SYNTHETIC_MARKER).write_text(SYNTHETIC_NOTE.format(subjects=subjects, seed=seed))
    return root


def _write_subject(root: Path, subject: _Subject, rng: np.random.Generator, image_size: int,
                   evaluation_numbers: dict) -> list[tuple[str, str, int]]:
    """Draw and write one subject's cells; returns its validation label rows (original name, number, code)."""
    label_rows = []
    style = make_subject_style(rng, subject.label)
    for file_name in _cell_file_names(rng, subject):
        image_rgb = render_cell(rng, subject.label, style, image_size)
        if subject.split == "train":  # Validation and test files get their shuffled number.
            path = root / "training_data" / f"fold_{subject.fold}" / subject.label / file_name
        else:
            new_name = f"{next(evaluation_numbers[subject.split])}.bmp"
            folder = VALIDATION_IMAGES if subject.split == "validation" else TEST_IMAGES
            path = root / folder / new_name
            if subject.split == "validation":
                label_rows.append((file_name, new_name, LABEL_CODES[subject.label]))
        _write_bmp(path, image_rgb)
    return label_rows


def _check_arguments(subjects: int, images_per_subject: int, image_size: int) -> None:
    if subjects < MIN_SUBJECTS:
        raise ValueError(f"subjects must be at least {MIN_SUBJECTS} (2 all + 2 hem), got {subjects}.")
    if images_per_subject < 1:
        raise ValueError(f"images_per_subject must be at least 1, got {images_per_subject}.")
    if image_size < 64:
        raise ValueError(f"image_size must be at least 64 pixels, got {image_size}.")


def _prepare_root(root: Path, overwrite: bool) -> None:
    """Refuses to clobber a non-empty dataset folder unless asked, then creates the split folders."""
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        if not overwrite:
            raise DatasetError(f"{root} already exists and is not empty; choose another folder "
                               "or pass --overwrite (overwrite=True) to replace it.")
        if root.is_dir():
            shutil.rmtree(root)
        else:
            root.unlink()
    for folder in (VALIDATION_IMAGES, TEST_IMAGES):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for fold in range(FOLD_COUNT):
        for label in LABELS:
            (root / "training_data" / f"fold_{fold}" / label).mkdir(parents=True, exist_ok=True)


def _class_counts(total: int, minimum_hem: int) -> tuple[int, int]:
    """Splits `total` subjects about 2:1 into (all, hem) with at least `minimum_hem` hem."""
    hem = max(minimum_hem, int(round(total / 3)))
    return total - hem, hem


def _plan_subjects(rng: np.random.Generator, subjects: int, images_per_subject: int) -> list[_Subject]:
    """Names, classes, splits, folds and cell counts of every subject, training first."""
    evaluation = max(2, subjects // 4)
    counts = {"train": _class_counts(subjects, 3 if subjects >= 6 else 2),
              "validation": _class_counts(evaluation, 1), "test": _class_counts(evaluation, 1)}
    total_all = sum(count[0] for count in counts.values())
    total_hem = sum(count[1] for count in counts.values())
    all_numbers = iter(rng.choice(np.arange(1, 2 * total_all + 1), total_all, replace=False))
    hem_numbers = iter(rng.choice(np.arange(1, 2 * total_hem + 1), total_hem, replace=False))
    plan = []
    for split, (all_count, hem_count) in counts.items():
        # Healthy subjects are dealt starting at fold_2 so that it always gets the lower-case one.
        for label, count, numbers, first_fold in (("all", all_count, all_numbers, 0),
                                                  ("hem", hem_count, hem_numbers, 2)):
            for index in range(count):
                prefix = "H" if label == "hem" else ""
                if split == "train" and label == "hem" and index == 0:
                    prefix = "h"  # The real fold_2 quirk: one healthy subject named UID_h<n>.
                image_count = max(1, int(round(images_per_subject * rng.uniform(0.8, 1.2))))
                fold = (first_fold + index) % FOLD_COUNT if split == "train" else -1
                plan.append(_Subject(f"{prefix}{next(numbers)}", label, split, fold, image_count))
    return plan


def _count(plan: list[_Subject], split: str) -> int:
    """Number of cells planned for one split."""
    return sum(subject.image_count for subject in plan if subject.split == split)


def _cell_file_names(rng: np.random.Generator, subject: _Subject) -> list[str]:
    """`UID_{subject}_{image}_{cell}_{class}.bmp` names: 1-3 cells per microscope image."""
    names, image_number, cell_number = [], 0, 0
    for _ in range(subject.image_count):
        if cell_number == 0 or cell_number >= 3 or rng.random() < 0.5:
            image_number += int(rng.integers(1, 3))
            cell_number = 0
        cell_number += 1
        names.append(f"UID_{subject.name}_{image_number}_{cell_number}_{subject.label}.bmp")
    return names


def _write_bmp(path: Path, image_rgb: np.ndarray) -> None:
    """Writes an (H, W, 3) uint8 RGB array as a 24-bit BMP (OpenCV stores BGR)."""
    if not cv2.imwrite(str(path), cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR)):
        raise OSError(f"could not write {path}")


def _write_labels(path: Path, rows: list[tuple[str, str, int]]) -> None:
    """The validation key, rows in file-number order: Patient_ID,new_names,labels (1 = all)."""
    rows = sorted(rows, key=lambda row: int(row[1].split(".")[0]))
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["Patient_ID", "new_names", "labels"])
        writer.writerows(rows)
