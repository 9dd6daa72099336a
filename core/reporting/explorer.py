"""Plain summaries of a dataset index for the Dataset explorer: counts, filters, pages, figures.

Everything here works on `ImageRecord`s and the dict from `core.data.index.summarize`, so it is
cheap on the full 15,114-file tree: only `thumbnail` touches pixels, and the app calls it for
the images on screen only. Figures are Plotly and coloured the same way everywhere.
"""
from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from core.data import labels
from core.data.labels import UNLABELED
from core.data.layout import TRAINING_FOLDS
from core.data.index import ImageRecord
from core.data.names import natural_sort_key
from core.imaging import encode

THUMBNAIL_SIDE = 128
PREDICTION_COLUMNS = ("path", "subject", "label", "probability_all")


def class_name(label: str) -> str:
    """The display name of "all", "hem" or "unlabeled"."""
    return labels.LONG_NAMES.get(label, "Unlabeled")


def training_counts(summary: dict) -> dict[str, int]:
    """{"all": n, "hem": n} images over the training folds, from `core.data.index.summarize`."""
    folds = [counts for split, counts in summary["images"].items() if split in TRAINING_FOLDS]
    return {label: sum(counts.get(label, 0) for counts in folds) for label in ("all", "hem")}


def chance_baseline(summary: dict) -> float | None:
    """Accuracy of always answering "all" on the labelled training folds, or None without them.

    It equals the share of "all" images, which is why accuracy alone says little here.
    """
    counts = training_counts(summary)
    total = counts["all"] + counts["hem"]
    return counts["all"] / total if total else None


def images_per_subject(records: Iterable[ImageRecord]) -> list[dict]:
    """One row per known subject of the training folds: subject, label, split and images.

    Rows are sorted by image count, largest first, then by subject name.
    """
    counts = Counter(
        (record.subject, record.label, record.split)
        for record in records
        if record.split in TRAINING_FOLDS and record.subject is not None
    )
    rows = [
        {"subject": subject, "label": label, "split": split, "images": count}
        for (subject, label, split), count in counts.items()
    ]
    return sorted(rows, key=lambda row: (-row["images"], natural_sort_key(row["subject"])))


def subjects(records: Iterable[ImageRecord]) -> list[str]:
    """The distinct known subjects, in natural order ("2" before "10", "H3" after them)."""
    return sorted({record.subject for record in records if record.subject}, key=natural_sort_key)


def filter_records(
    records: Sequence[ImageRecord],
    split: str | None = None,
    label: str | None = None,
    subject: str | None = None,
) -> list[ImageRecord]:
    """The records matching every given filter; None means "any". Label "unlabeled" matches None."""
    wanted_label = None if label == UNLABELED else label
    return [
        record
        for record in records
        if (split is None or record.split == split)
        and (label is None or record.label == wanted_label)
        and (subject is None or record.subject == subject)
    ]


def page_count(total: int, per_page: int) -> int:
    """Pages needed for `total` items, at least 1 so an empty list still has a (blank) page."""
    if per_page < 1:
        raise ValueError(f"per_page must be at least 1, got {per_page}.")
    return max(1, -(-total // per_page))


def page_items(items: Sequence, page: int, per_page: int) -> list:
    """The items on 1-based `page`; a page past either end is clamped to the first or last."""
    page = min(max(1, page), page_count(len(items), per_page))
    start = (page - 1) * per_page
    return list(items[start : start + per_page])


def thumbnail(image_rgb: np.ndarray, side: int = THUMBNAIL_SIDE) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> the explorer's thumbnail: at most (side, side, 3), aspect kept; never enlarged."""
    return encode.thumbnail(image_rgb, side)


def read_predictions(csv_path: Path) -> list[dict]:
    """Rows of a held-out predictions CSV (`path,subject,label,probability_all`).

    Raises:
        ValueError: a column is missing or a probability is not a number in [0, 1].
    """
    with open(csv_path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [column for column in PREDICTION_COLUMNS if column not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{csv_path.name} lacks column(s) {missing}; expected {list(PREDICTION_COLUMNS)}.")
        rows = [{**row, "probability_all": float(row["probability_all"])} for row in reader]
    if any(not 0.0 <= row["probability_all"] <= 1.0 for row in rows):
        raise ValueError(f"{csv_path.name} holds probabilities outside [0, 1]; re-run the evaluation.")
    return rows


def misclassified(rows: Iterable[dict], threshold: float) -> list[dict]:
    """Rows whose label differs from `probability_all >= threshold`, most confidently wrong first.

    Each returned row gains "predicted" ("all"/"hem").
    """
    wrong = []
    for row in rows:
        predicted = labels.label_for(row["probability_all"], threshold)
        if row["label"] in ("all", "hem") and predicted != row["label"]:
            wrong.append({**row, "predicted": predicted})
    return sorted(wrong, key=lambda row: -abs(row["probability_all"] - threshold))


def resolve_image(path_text: str, *folders: Path) -> Path | None:
    """An image path from a CSV: absolute as given, else the first folder that holds it."""
    path = Path(path_text)
    candidates = [path] if path.is_absolute() else [folder / path for folder in folders]
    return next((candidate for candidate in candidates if candidate.is_file()), None)
