"""Training the classifier: data selection, the two-phase schedule, callbacks and the demo recipe.

`train.py` is the command line over `train(TrainOptions)`; the app calls
`build_demo_model` with a progress callback. Evaluation and the sidecar are written by
`core.model_report`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np

from core import config
from core.data.index import DatasetIndex, ImageRecord, index_dataset
from core.errors import DatasetError
from core.data.splits import Split, external_test_set, image_split, subject_split

Progress = Callable[[float, str], None]
LABEL_VALUE = {"hem": 0, "all": 1}

# The demo recipe: ResNet50 from random weights on a few hundred synthetic cells, sized to
# finish within 5 minutes on a 2-core CPU (README lists the measured time and AUC).
DEMO_IMAGE_SIZE = 96
DEMO_EPOCHS = 14
DEMO_BATCH_SIZE = 32
DEMO_LEARNING_RATE = 1e-3
DEMO_SUBJECTS = 24
DEMO_IMAGES_PER_SUBJECT = 20
# Random-init BatchNorm needs fast-moving statistics over a few dozen steps (see bn_momentum).
DEMO_BN_MOMENTUM = 0.9


@dataclass
class TrainOptions:
    """Everything a training run depends on; the CLI flags map one to one onto these fields."""

    data_dir: Path | None = None
    demo: bool = False
    weights: str = "imagenet"
    image_size: int = config.IMAGE_SIZE
    epochs: int = 10
    fine_tune_epochs: int = 10
    batch_size: int = 32
    learning_rate: float = 1e-3
    fine_tune_learning_rate: float = 1e-5
    split: str = "subject"
    val_fraction: float = 0.2
    limit: int | None = None
    seed: int = 0
    output: Path = field(default_factory=lambda: config.PROJECT_ROOT / "models" / config.MODEL_FILENAME)
    dry_run: bool = False
    patience: int = 4
    bn_momentum: float | None = None
    cache_dir: Path | None = None
    mixed_precision: str = "auto"


def demo_options(options: TrainOptions) -> TrainOptions:
    """The demo recipe on top of `options`: random weights, small images, one phase."""
    return replace(
        options,
        demo=True,
        weights="none",
        image_size=DEMO_IMAGE_SIZE,
        epochs=DEMO_EPOCHS,
        fine_tune_epochs=0,
        batch_size=DEMO_BATCH_SIZE,
        learning_rate=DEMO_LEARNING_RATE,
        bn_momentum=DEMO_BN_MOMENTUM,
        patience=6,
    )


def ensure_demo_data(data_root: Path, progress: Progress | None = None) -> Path:
    """The synthetic C-NMC tree under data_root, generated first if it is not there yet."""
    from core.data.synthetic import generate_dataset

    dataset_root = Path(data_root) / config.DATASET_FOLDER_NAME
    if (dataset_root / "training_data").is_dir():
        return dataset_root
    if progress:
        progress(0.0, "Generating the synthetic demo cells…")
    return generate_dataset(data_root, subjects=DEMO_SUBJECTS, images_per_subject=DEMO_IMAGES_PER_SUBJECT, seed=0)


def limit_records(records: list[ImageRecord], limit: int | None, seed: int) -> list[ImageRecord]:
    """A seeded random subset of at most `limit` records, keeping the class ratio."""
    if not limit or limit >= len(records):
        return records
    rng = np.random.default_rng(seed)
    chosen: list[ImageRecord] = []
    for label in ("all", "hem"):
        group = [record for record in records if record.label == label]
        share = max(1, round(limit * len(group) / len(records)))
        chosen += [group[i] for i in sorted(rng.choice(len(group), min(share, len(group)), replace=False))]
    return chosen


def select_data(options: TrainOptions) -> tuple[DatasetIndex, Split, list[ImageRecord]]:
    """Index the data and split the training folds; the labelled validation folder is the external set."""
    index = index_dataset(options.data_dir)
    training = [record for record in index.by_split("fold_0", "fold_1", "fold_2") if record.label and record.subject]
    if len(training) < 4:
        raise DatasetError(f"{index.root} holds only {len(training)} labelled training images; at least 4 are needed.")
    training = limit_records(training, options.limit, options.seed)
    splitter = subject_split if options.split == "subject" else image_split
    try:
        split = splitter(training, options.val_fraction, options.seed)
    except ValueError as error:
        raise DatasetError(f"Could not split {index.root} by {options.split}: {error}") from error
    return index, split, external_test_set(index)


def labels_of(records: list[ImageRecord]) -> np.ndarray:
    """(N,) int 1 for all, 0 for hem."""
    return np.array([LABEL_VALUE[record.label] for record in records], dtype=int)


def class_weights(labels: np.ndarray) -> dict[int, float]:
    """Inverse-frequency weights so each class counts equally (C-NMC is 2.15 all : 1 hem)."""
    counts = np.bincount(labels, minlength=2).astype(float)
    return {label: float(len(labels) / (2 * max(count, 1.0))) for label, count in enumerate(counts)}


def set_bn_momentum(model, momentum: float | None) -> None:
    """Make BatchNorm's moving statistics follow the weights faster (random-init, short runs)."""
    if momentum is None:
        return
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = momentum


def freeze_base(model, trainable: bool, keep_bn_frozen: bool) -> None:
    """Freeze or unfreeze the ResNet50 layers; BatchNorm stays in inference mode when asked."""
    import keras

    head = {"avg_pool", "head_dropout_1", "head_dense", "head_dropout_2", "logit", "probability", "image"}
    for layer in model.layers:
        if layer.name in head:
            continue
        is_bn = isinstance(layer, keras.layers.BatchNormalization)
        layer.trainable = trainable and not (is_bn and keep_bn_frozen)


class Stopwatch:
    """Seconds since creation, for progress estimates."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.start


def build_demo_model(model_path: Path, data_root: Path, progress: Progress | None = None) -> Path:
    """Generate the synthetic data if needed and train the demo model (a few minutes on a CPU).

    Args:
        model_path: where the .keras file goes; its sidecar and CSVs go next to it.
        data_root: folder that holds (or will hold) C-NMC_Leukemia/ with the synthetic cells.
        progress: called with (fraction in [0, 1], message) as work advances.

    Returns:
        model_path, once the model and its sidecar are written.
    """
    from core.training.run import train

    dataset_root = ensure_demo_data(Path(data_root), progress)
    options = demo_options(TrainOptions(data_dir=dataset_root, output=Path(model_path)))
    train(options, progress=progress, log=lambda line: None)
    return Path(model_path)
