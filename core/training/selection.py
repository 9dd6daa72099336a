"""Which images a run trains, tunes and calibrates on: the three-role split of the training folds, the external set."""
from __future__ import annotations

from collections import Counter

import numpy as np

from core.data.index import DatasetIndex, ImageRecord, index_dataset
from core.data.labels import LABELS, display_name
from core.data.layout import TRAINING_FOLDS
from core.data.splits import Split, external_test_set, image_split, subject_split
from core.errors import DatasetError
from core.model.calibration import DEFAULT_ERROR_RATE, minimum_scores
from core.training.options import TrainOptions


def limit_records(records: list[ImageRecord], limit: int | None, seed: int) -> list[ImageRecord]:
    """A seeded random subset of at most `limit` records, keeping the class ratio."""
    if not limit or limit >= len(records):
        return records
    rng = np.random.default_rng(seed)
    chosen: list[ImageRecord] = []
    for label in LABELS:
        group = [record for record in records if record.label == label]
        share = max(1, round(limit * len(group) / len(records)))
        chosen += [group[i] for i in sorted(rng.choice(len(group), min(share, len(group)), replace=False))]
    return chosen


def select_data(options: TrainOptions) -> tuple[DatasetIndex, Split, list[ImageRecord]]:
    """Index the data and split the training folds; the labelled validation folder is the external set."""
    index = index_dataset(options.data_dir)
    training = [record for record in index.by_split(*TRAINING_FOLDS) if record.label and record.subject]
    if len(training) < 4:
        raise DatasetError(f"{index.root} holds only {len(training)} labelled training images; at least 4 are needed.")
    training = limit_records(training, options.limit, options.seed)
    splitter = subject_split if options.split == "subject" else image_split
    try:
        split = splitter(training, options.tuning_fraction, options.calibration_fraction, options.seed)
    except ValueError as error:
        raise DatasetError(f"Could not split {index.root} by {options.split}: {error}") from error
    return index, split, external_test_set(index)


def calibration_warnings(split: Split, error_rate: float = DEFAULT_ERROR_RATE) -> list[str]:
    """Sentences for the log and the model card when the calibration subjects hold too few cells of a class.

    A class with fewer than `minimum_scores(error_rate)` calibration cells (19 at 5%) gets no finite conformal
    threshold: it is in every prediction set, so the model can only answer the other class or refer.
    """
    needed = minimum_scores(error_rate)
    counts = Counter(record.label for record in split.calibration)
    return [f"The calibration subjects hold {counts[label]} {display_name(label)} cell(s), fewer than the {needed} a finite "
            f"{error_rate:.0%} conformal threshold needs: {display_name(label)} will be in every prediction set. Raise "
            "--calibration-fraction or add subjects." for label in LABELS if counts[label] < needed]


def class_weights(labels: np.ndarray) -> dict[int, float]:
    """Inverse-frequency weights so each class counts equally (C-NMC is 2.15 all : 1 hem)."""
    counts = np.bincount(labels, minlength=2).astype(float)
    return {label: float(len(labels) / (2 * max(count, 1.0))) for label, count in enumerate(counts)}
