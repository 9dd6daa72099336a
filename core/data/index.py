"""Index the C-NMC 2019 leukemia dataset on disk (Kaggle layout), without decoding any image.

Layout: `training_data/fold_{0,1,2}/{all,hem}/UID_{subject}_{image}_{cell}_{class}.bmp`,
`validation_data/C-NMC_test_prelim_phase_data/{n}.bmp` with its `..._labels.csv`
(labels 1 = all, 0 = hem), and the unlabeled `testing_data/C-NMC_test_final_phase_data/{n}.bmp`.

Imperfect trees are indexed with a warning that names each offending file or folder:
only `.bmp` files (any case) are indexed; other files and sub-folders are skipped and
hidden files counted. An unparseable training name is kept with `subject=None`; a name whose
class disagrees with its folder keeps the folder's label. A validation image without a valid
CSV row gets `label=None`. `python -m core.dataset DATA_DIR [--json]`
(`core.cli.dataset`) prints a summary.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from core.data.names import describe as _describe
from core.data.names import natural_sort_key, parse_training_name
from core.data.labels import LABELS
from core.data.layout import (
    DATASET_FOLDER_NAME, EXPECTED_ENTRIES, SPLIT_FOLDERS, SPLITS, TOP_FOLDERS, VALIDATION_CSV,
)
from core.errors import DatasetError
from core.data.validation_labels import read_validation_labels

@dataclass(frozen=True)
class ImageRecord:
    """One image file: where it is, which split it belongs to, its class and its subject."""

    path: Path
    split: str
    label: str | None
    subject: str | None


@dataclass
class DatasetIndex:
    """Every image of one C-NMC_Leukemia folder, sorted by split then natural name order."""

    root: Path
    records: list[ImageRecord]
    warnings: list[str] = field(default_factory=list)

    def by_split(self, *splits: str) -> list[ImageRecord]:
        """The records of the given splits (names from `SPLITS`), in index order."""
        unknown = set(splits) - set(SPLITS)
        if unknown:
            raise ValueError(f"Unknown split(s) {sorted(unknown)}; expected names from {SPLITS}.")
        return [record for record in self.records if record.split in splits]

    def labelled(self) -> list[ImageRecord]:
        """The records whose label is known (training folds, and validation with a CSV row)."""
        return [record for record in self.records if record.label is not None]


def find_dataset_root(path: str | Path) -> Path:
    """The C-NMC_Leukemia folder for `path`: that folder, its parent, or its training_data folder.

    Raises:
        DatasetError: `path` is missing, not a folder, or not laid out like C-NMC_Leukemia.
    """
    folder = Path(path).expanduser()
    if not folder.exists():
        raise DatasetError(f"Data folder {folder} does not exist; pass the path of C-NMC_Leukemia.")
    if not folder.is_dir():
        raise DatasetError(f"{folder} is a file; pass the path of the C-NMC_Leukemia folder.")
    candidates = [folder, folder / DATASET_FOLDER_NAME]
    if folder.name == "training_data" or (folder / "fold_0").is_dir():
        candidates.append(folder.parent)
    for candidate in candidates:
        if any((candidate / name).is_dir() for name in TOP_FOLDERS):
            return candidate
    found = sorted(entry.name for entry in os.scandir(folder))
    raise DatasetError(
        f"{folder} is not laid out like {DATASET_FOLDER_NAME}: expected training_data/ "
        f"(fold_0..fold_2, each with all/ and hem/), validation_data/ or testing_data/, or a "
        f"{DATASET_FOLDER_NAME}/ folder inside it; found {_describe(found) or 'nothing (empty)'}."
    )


def _warn_about(warnings: list[str], folder: Path, names: list[str], problem: str) -> None:
    """Add one warning for all the files of `folder` that share a problem, naming the first few."""
    if names:
        names = sorted(names, key=natural_sort_key)
        warnings.append(f"{folder}: {len(names)} {problem}: {_describe(names)}.")


def inside(root: Path, path: Path) -> bool:
    """True when `path`, its links followed, lies inside `root` (links out of the dataset are not followed)."""
    return Path(path).resolve().is_relative_to(Path(root).resolve())


def _scan_images(folder: Path, warnings: list[str], root: Path) -> list[Path]:
    """The `.bmp` files directly in `folder`, in natural name order; others are skipped with a warning.

    A link that leads outside `root` is skipped and counted, never followed or named by its target.
    """
    names, skipped, hidden, outside = [], [], 0, 0
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.startswith("."):
                hidden += 1
            elif entry.is_symlink() and not inside(root, Path(entry.path)):
                outside += 1
            elif entry.name.lower().endswith(".bmp") and not entry.is_dir():
                names.append(entry.name)
            else:
                skipped.append(entry.name + "/" * entry.is_dir())
    _warn_about(warnings, folder, skipped, "entries skipped, not .bmp images (the dataset is BMP only)")
    if hidden:
        warnings.append(f"{folder}: {hidden} hidden file(s) skipped.")
    if outside:
        warnings.append(f"{folder}: {outside} link(s) leading outside the dataset folder skipped.")
    if not names:
        warnings.append(f"{folder}: no .bmp images in this folder.")
    return [folder / name for name in sorted(names, key=natural_sort_key)]


def _training_records(root: Path, split: str, warnings: list[str]) -> list[ImageRecord]:
    """Records of one training fold; the label comes from the `all`/`hem` folder."""
    records = []
    for label in LABELS:
        folder = root / SPLIT_FOLDERS[split] / label
        if not folder.is_dir():
            warnings.append(f"Missing folder {folder}: {split} has no {label!r} images.")
            continue
        if not inside(root, folder):
            warnings.append(f"{folder} is a link leading outside the dataset folder: {split} has no {label!r} images.")
            continue
        unparseable, mislabelled = [], []
        for path in _scan_images(folder, warnings, root):
            try:
                subject, name_label = parse_training_name(path.name)
            except ValueError:
                subject, name_label = None, label
                unparseable.append(path.name)
            if name_label != label:
                mislabelled.append(path.name)
            records.append(ImageRecord(path, split, label, subject))
        _warn_about(warnings, folder, unparseable,
                    "names are not UID_{subject}_{image}_{cell}_{class}.bmp; kept with subject unknown")
        _warn_about(warnings, folder, mislabelled, f"names say another class than {label}/; the folder wins")
    return records


def _validation_records(root: Path, warnings: list[str]) -> list[ImageRecord]:
    """Validation records, labelled from the CSV; mismatches both ways are reported."""
    paths = _scan_images(root / SPLIT_FOLDERS["validation"], warnings, root)
    csv_path = root / VALIDATION_CSV
    if csv_path.exists() and not inside(root, csv_path):
        warnings.append(f"{csv_path} is a link leading outside the dataset folder; it was not read, validation images are unlabeled.")
        labels = {}
    else:
        labels = read_validation_labels(csv_path, warnings)
    if not labels:
        return [ImageRecord(path, "validation", None, None) for path in paths]
    unmatched = [path.name for path in paths if path.name.lower() not in labels]
    if unmatched:
        warnings.append(f"{len(unmatched)} validation image(s) have no CSV row, left unlabeled: "
                        f"{_describe(unmatched)}.")
    present = {path.name.lower() for path in paths}
    orphans = sorted((name for name in labels if name not in present), key=natural_sort_key)
    if orphans:
        warnings.append(f"{len(orphans)} CSV row(s) name missing images: {_describe(orphans)}.")
    unknown = (None, None)
    return [ImageRecord(path, "validation", *labels.get(path.name.lower(), unknown)) for path in paths]


def _warn_unexpected_entries(root: Path, warnings: list[str]) -> None:
    """Report files and folders that the C-NMC layout does not have (hidden entries excepted)."""
    for relative, expected in EXPECTED_ENTRIES.items():
        folder = root / relative
        if folder.is_dir():
            for entry in os.scandir(folder):
                if entry.name not in expected and not entry.name.startswith("."):
                    warnings.append(f"Unexpected {entry.path}: not part of the C-NMC layout, ignored.")


def index_dataset(path: str | Path) -> DatasetIndex:
    """List every image of a C-NMC_Leukemia folder with its split, label and subject.

    Records come in `SPLITS` order, training folds `all/` before `hem/`, each folder in natural
    name order ("2.bmp" before "10.bmp"); only directory entries are read, never pixels.

    Raises:
        DatasetError: the folder is missing, not C-NMC shaped, or holds no image at all.
    """
    root = find_dataset_root(path)
    try:
        return _index_root(root)
    except OSError as error:
        where = Path(error.filename).name if error.filename else root.name
        raise DatasetError(f"Could not read {where} under {root.name}: {error.strerror}. "
                           "Check that the folder and everything in it can be read.") from error


def _index_root(root: Path) -> DatasetIndex:
    """`index_dataset` for a folder known to be C-NMC shaped; OSErrors are left to the caller."""
    warnings: list[str] = []
    _warn_unexpected_entries(root, warnings)
    records: list[ImageRecord] = []
    for split in SPLITS:
        folder = root / SPLIT_FOLDERS[split]
        if folder.is_dir() and not inside(root, folder):
            warnings.append(f"{folder} is a link leading outside the dataset folder: the {split} split is left out.")
            continue
        if not folder.is_dir():
            if folder.parent.is_dir():
                warnings.append(f"Missing folder {folder}: the {split} split is left out.")
            continue
        if split == "validation":
            records += _validation_records(root, warnings)
        elif split == "test":
            records += [ImageRecord(path, split, None, None) for path in _scan_images(folder, warnings, root)]
        else:
            records += _training_records(root, split, warnings)
    if not records:
        raise DatasetError(f"No .bmp images found under {root}. " + " ".join(warnings[:3]))
    return DatasetIndex(root=root, records=records, warnings=warnings)
