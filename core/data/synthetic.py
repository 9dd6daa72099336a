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
  that contribute different numbers of cells (`training_images_per_subject` for training subjects,
  when given). Validation and test files are numbered in a random order.
- `extra_training_subjects` widens the training folds (about 2:1 all:hem, dealt on over the folds)
  with subjects planned after the validation and test ones, from their own seed: the validation and
  test sets are then the very same files whatever the number of extra subjects or of training cells.
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

Every image in this folder was drawn by `core.data.synthetic` ({recipe}).
It has the C-NMC 2019 layout but holds no real cell: models trained on it learn synthetic cells only.
"""


def recipe_text(subjects: int, images_per_subject: int, seed: int, extra_training_subjects: int = 0,
                training_images_per_subject: int | None = None) -> str:
    """The arguments that decide every cell, as the marker note records them ("subjects=24, images_per_subject=20, ...")."""
    return (f"subjects={subjects}, images_per_subject={images_per_subject}, seed={seed}, extra_training_subjects="
            f"{extra_training_subjects}, training_images_per_subject={training_images_per_subject or images_per_subject}")


def recorded_recipe(dataset_root: str | Path) -> str | None:
    """The `recipe_text` a synthetic folder's marker note records, or None (no marker, or an unreadable one)."""
    try:
        note = (Path(dataset_root) / SYNTHETIC_MARKER).read_text()
    except (OSError, UnicodeDecodeError):
        return None
    start, end = note.find("`core.data.synthetic` ("), note.find(").\n")
    return note[start + len("`core.data.synthetic` ("):end] if start >= 0 and end > start else None


def is_synthetic(dataset_root: str | Path) -> bool:
    """True when the C-NMC folder was written by this generator (it carries the marker file)."""
    return (Path(dataset_root) / SYNTHETIC_MARKER).is_file()


def generate_dataset(out_dir: str | Path, *, subjects: int = 24, images_per_subject: int = 20,
                     seed: int = 0, image_size: int = 450, overwrite: bool = False,
                     extra_training_subjects: int = 0, training_images_per_subject: int | None = None) -> Path:
    """Writes a synthetic C-NMC_Leukemia folder under `out_dir`.

    Args:
        out_dir: parent folder; created if missing.
        subjects: number of training subjects (at least 4); the validation and test sets get
            max(2, subjects // 4) subjects each.
        images_per_subject: mean number of cells per subject (at least 1).
        seed: random seed; the same seed gives byte-identical files.
        image_size: side of the square BMP images in pixels (the real data: 450).
        overwrite: replace an existing non-empty `C-NMC_Leukemia` folder instead of refusing.
        extra_training_subjects: further training subjects, planned after the validation and test
            subjects so that those stay the same files (the demo widens its training folds so).
        training_images_per_subject: mean cells per training subject (default: `images_per_subject`);
            validation and test subjects keep `images_per_subject`.

    Returns:
        The path `out_dir/C-NMC_Leukemia`.

    Raises:
        ValueError: an argument is out of range.
        DatasetError: the target folder exists, is not empty and `overwrite` is False.
        OSError: the folder cannot be created or written.
    """
    training_images = training_images_per_subject or images_per_subject
    _check_arguments(subjects, min(images_per_subject, training_images), image_size)
    if extra_training_subjects < 0:
        raise ValueError(f"extra_training_subjects must be 0 or more, got {extra_training_subjects}.")
    root = Path(out_dir).expanduser() / DATASET_FOLDER_NAME
    _prepare_root(root, overwrite)
    plan = _plan_subjects(np.random.default_rng(seed), subjects, images_per_subject, training_images)
    plan += _plan_extra_subjects(np.random.default_rng(np.random.SeedSequence([seed, 2])), plan,
                                 extra_training_subjects, training_images)
    child_seeds = np.random.SeedSequence(seed).spawn(len(plan))
    numbering = np.random.default_rng(np.random.SeedSequence([seed, 1]))
    evaluation_numbers = {split: iter(numbering.permutation(_count(plan, split)) + 1)
                          for split in ("validation", "test")}
    label_rows: list[tuple[str, str, int]] = []
    for subject, child_seed in zip(plan, child_seeds):
        label_rows += _write_subject(root, subject, np.random.default_rng(child_seed), image_size, evaluation_numbers)
    _write_labels(root / VALIDATION_LABELS, label_rows)
    recipe = recipe_text(subjects, images_per_subject, seed, extra_training_subjects, training_images_per_subject)
    (root / SYNTHETIC_MARKER).write_text(SYNTHETIC_NOTE.format(recipe=recipe))
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


def _plan_subjects(rng: np.random.Generator, subjects: int, images_per_subject: int,
                   training_images_per_subject: int | None = None) -> list[_Subject]:
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
                mean = (training_images_per_subject or images_per_subject) if split == "train" else images_per_subject
                image_count = max(1, int(round(mean * rng.uniform(0.8, 1.2))))
                fold = (first_fold + index) % FOLD_COUNT if split == "train" else -1
                plan.append(_Subject(f"{prefix}{next(numbers)}", label, split, fold, image_count))
    return plan


def _plan_extra_subjects(rng: np.random.Generator, plan: list[_Subject], extra: int, images_per_subject: int) -> list[_Subject]:
    """`extra` further training subjects, about 2:1 all:hem, named above every number `plan` uses, dealt on over the folds."""
    hem_count = int(round(extra / 3))
    extras = []
    for label, count, first_fold in (("all", extra - hem_count, 0), ("hem", hem_count, 2)):
        mine = [subject for subject in plan if subject.label == label]
        start = 1 + max((int(subject.name.lstrip("Hh")) for subject in mine), default=0)
        already = sum(subject.split == "train" for subject in mine)
        for index, number in enumerate(start + np.sort(rng.choice(2 * count, count, replace=False))):
            image_count = max(1, int(round(images_per_subject * rng.uniform(0.8, 1.2))))
            fold = (first_fold + already + index) % FOLD_COUNT
            extras.append(_Subject(f"{'H' if label == 'hem' else ''}{number}", label, "train", fold, image_count))
    return extras


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
