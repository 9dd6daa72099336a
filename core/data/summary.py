"""What a C-NMC folder holds: image counts per split and class, training subjects, the index's warnings."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from core.data.index import DatasetIndex, ImageRecord
from core.data.labels import LABELS
from core.data.layout import SPLIT_FOLDERS, SPLITS, TRAINING_FOLDS


def _count_labels(records: list[ImageRecord], always_labelled: bool) -> dict[str, int]:
    """{"all": n, "hem": n} when the split has labels, plus "unlabeled": n for the rest."""
    counts = Counter(record.label or "unlabeled" for record in records)
    has_labels = always_labelled or any(counts[label] for label in LABELS)
    keys = [*LABELS] if has_labels else []
    if counts["unlabeled"] or not has_labels:
        keys.append("unlabeled")
    return {key: counts[key] for key in keys}


def summarize(index: DatasetIndex) -> dict:
    """Image counts per split and label, training-fold subject counts, and the warnings.

    "subjects" counts the training folds only: they are the subjects a model is trained and
    subject-split on; the validation set's subjects are other patients.
    """
    images = {
        split: _count_labels(index.by_split(split), always_labelled=split.startswith("fold"))
        for split in SPLITS
        if (index.root / SPLIT_FOLDERS[split]).is_dir()
    }
    subjects = {label: set() for label in LABELS}
    for record in index.by_split(*TRAINING_FOLDS):
        if record.subject is not None:
            subjects[record.label].add(record.subject)
    return {
        "root": str(index.root),
        "images": images,
        "subjects": {label: len(subjects[label]) for label in LABELS},
        "warnings": list(index.warnings),
    }


def count_images(root: Path) -> dict[str, int]:
    """Counts BMP files per split of a C-NMC_Leukemia folder: keys train_all, train_hem, validation, test."""
    training = root / "training_data"
    return {"train_all": len(list(training.glob("fold_*/all/*.bmp"))),
            "train_hem": len(list(training.glob("fold_*/hem/*.bmp"))),
            "validation": len(list((root / SPLIT_FOLDERS["validation"]).glob("*.bmp"))),
            "test": len(list((root / SPLIT_FOLDERS["test"]).glob("*.bmp")))}
