"""The training run: pipeline, two phases of `fit`, callbacks, evaluation and the sidecar."""
from __future__ import annotations

import errno
import shutil
import time
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path
from typing import Any, Callable

import keras
import numpy as np
import tensorflow as tf

from core import config
from core.data.index import ImageRecord
from core.data.labels import LABELS, label_codes
from core.data.sides import CALIBRATION, ROLE_NAMES, TUNING
from core.data.splits import Split
from core.errors import DatasetError
from core.explain.audit import AUDIT_CELLS, attach_audit
from core.explain.explainer import Explainer
from core.model.network import build_classifier
from core.training.calibration_fit import summary_line
from core.subjects import evaluation
from core.training.sidecar import TrainingRun, evaluate_and_save
from core.training.options import EVALUATING_MESSAGE, Progress, TrainOptions
from core.training.phases import Hooks, Resumed, Stopwatch, run_phases
from core.training.resume import load_progress, progress_path
from core.training.selection import calibration_warnings, class_weights, select_data
from core.training.neighbours import attach_index
from core.training.devices import check_batch_for_replicas, choose_strategy, configure_precision
from core.training.freezing import set_bn_momentum


@dataclass
class TrainResult:
    """What a run produced: the model path and its sidecar metadata."""

    model_path: Path
    metadata: dict[str, Any]


def datasets(options: TrainOptions, split: Split) -> tuple[tf.data.Dataset, tf.data.Dataset]:
    """The pipelines `fit` reads: the train records (shuffled, augmented) and the tuning records (Keras' validation_data).

    The tuning records alone drive early stopping, the checkpoint kept and the learning-rate schedule; the
    calibration records never reach `fit`. Crops are cached on disk unless dry-run.
    """
    from core.training.pipeline import make_dataset

    cache = None if options.dry_run else (options.cache_dir or config.beside_model(options.output, config.CACHE_SUFFIX))
    train = make_dataset([r.path for r in split.train], label_codes(r.label for r in split.train), options.image_size, options.batch_size, True, cache, options.seed)
    tuning = make_dataset([r.path for r in split.tuning], label_codes(r.label for r in split.tuning), options.image_size, options.batch_size, False, cache)
    return train, tuning


def predict_records(model: keras.Model, records: list[ImageRecord], options: TrainOptions) -> np.ndarray:
    """(N,) P(all) for records, through the same pipeline as training (no augmentation)."""
    from core.training.pipeline import make_dataset

    dataset = make_dataset([r.path for r in records], None, options.image_size, options.batch_size)
    return model.predict(dataset, verbose=0).reshape(-1)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow; on CPU also make TensorFlow's kernels deterministic.

    GPU runs keep the fast non-deterministic kernels (cuDNN), so they are not bit-reproducible.
    """
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    if not tf.config.list_physical_devices("GPU"):
        tf.config.experimental.enable_op_determinism()


def prepare_output(output: Path) -> None:
    """Create the model's folder, or say clearly why it cannot be written."""
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DatasetError(f"Cannot create the output folder {output.parent}: {error.strerror}. Pass --output to a writable place.") from error
    if output.suffix != ".keras":
        raise DatasetError(f"--output must end in .keras (the Keras v3 format); got {output.name}.")


def train(options: TrainOptions, progress: Progress | None = None, log: Callable[[str], None] = print, extra_callbacks: list | None = None) -> TrainResult:
    """Train, evaluate and save the model and its sidecar. See `train.py --help` for the options.

    `options.data_dir` must name the data (`core.training.demo.with_demo_data` fills it for the demo).
    An interrupted run resumes when called again with the same options (`core.training.resume`).

    Raises:
        DatasetError: bad data, an unwritable output, too little free disk space, or a disk that filled up.
    """
    try:
        return _train(options, progress, log, extra_callbacks or [])
    except OSError as error:
        if error.errno != errno.ENOSPC:
            raise
        raise DatasetError(f"The disk holding {Path(options.output).parent} filled up during training. Free some space "
                           "and run the same command again: training resumes from the last finished epoch.") from error


def _train(options: TrainOptions, progress: Progress | None, log: Callable[[str], None], extra_callbacks: list) -> TrainResult:
    clock = Stopwatch()
    output = Path(options.output)
    prepare_output(output)
    seed_everything(options.seed)
    index, split, external = select_data(options)
    if options.dry_run:
        split, external = dry_run_split(split, options.batch_size), external[: options.batch_size]
    check_free_space(output, options, len(split.train) + len(split.held_out))
    log(role_line(split, len(external)))
    for warning in calibration_warnings(split):
        log(f"Warning: {warning}")
    precision = configure_precision(options.mixed_precision)
    strategy = choose_strategy()
    check_batch_for_replicas(options.batch_size, {"training": len(split.train), "tuning": len(split.tuning)},
                             strategy.num_replicas_in_sync)
    train_ds, tuning_ds = datasets(options, split)
    earlier = load_progress(output, log)
    resumed = Resumed(earlier, earlier.seconds, time.perf_counter())
    with strategy.scope():
        model = build_classifier(options.image_size, weights=options.weights)
        set_bn_momentum(model, options.bn_momentum)
        weights = class_weights(label_codes(r.label for r in split.train))
        history = run_phases(model, options, train_ds, tuning_ds, weights, Hooks(progress, log, extra_callbacks, resumed))
    if progress:
        progress(1.0, EVALUATING_MESSAGE)
    seconds = resumed.earlier_seconds + clock.elapsed()
    run = TrainingRun(options=options_record(options), index=index, split=split, external=external, history=history,
                      precision=precision, replicas=strategy.num_replicas_in_sync, seconds=seconds,
                      notes=tuple(calibration_warnings(split)))
    metadata = evaluate_and_save(model, run, lambda records: predict_records(model, records, options))
    metadata = attach_index(model, output, metadata, {"train": split.train, "validation": split.held_out},
                            Path(index.root), options.batch_size, threshold_records=split.calibration)
    if progress:
        progress(1.0, "Auditing the explanations on held-out cells…")
    metadata = attach_explanation_audit(model, output, metadata, split.held_out, options, log)
    progress_path(output).unlink(missing_ok=True)
    aucs = ", ".join(f"{ROLE_NAMES[role]} {metadata['evaluation'][role].get('roc_auc')}" for role in (TUNING, CALIBRATION))
    log(f"Saved {options.output} ({seconds:.0f} s). Held-out ROC AUC: {aucs}.")
    external_summary = summary_line(metadata["evaluation"].get("external") or {})
    if external_summary:
        log(f"External set, {external_summary}.")
    for key, words in (("held_out", "Held-out subjects"), ("external", "External set subjects")):
        line = evaluation.summary_line(metadata.get("subject_evaluation") or {}, key)
        if line:
            log(f"{words}: {line}.")
    return TrainResult(output, metadata)


def role_line(split: Split, external_images: int) -> str:
    """One log line: images and subjects per role, and the external set's size."""
    subjects = split.subjects()
    roles = "; ".join(f"{role} {len(records)} images of {len(subjects[role])} subjects" for role, records in split.roles().items())
    return f"{split.kind.capitalize()} split (seed {split.seed}): {roles}; external set {external_images} images."


def dry_run_split(split: Split, count: int) -> Split:
    """Each role cut to `count` records taken alternately from each class, so the dry run still calibrates."""
    def first(records: list[ImageRecord]) -> list[ImageRecord]:
        by_label = [[record for record in records if record.label == label] for label in LABELS]
        mixed = [record for pair in zip_longest(*by_label) for record in pair if record is not None]
        return mixed[:count]

    return Split(first(split.train), first(split.tuning), first(split.calibration), split.kind, split.seed)


def attach_explanation_audit(model: keras.Model, output: Path, metadata: dict[str, Any], records: list[ImageRecord],
                             options: TrainOptions, log: Callable[[str], None]) -> dict[str, Any]:
    """Each explanation method's faithfulness and sanity check over a few held-out cells, into the sidecar.

    The dry run audits one cell with Grad-CAM on the last block only (each layer and method
    traces its own compiled functions, seconds each on 2 cores). A failure is logged and leaves
    the model as it is: the model card then offers `python -m core.cli.audit`, as it does after
    `--skip-audit`.
    """
    if options.skip_audit:
        log(f"Explanation audit skipped (--skip-audit); run python -m core.cli.audit --model {output} to add it.")
        return metadata
    try:
        explainer = Explainer(model, threshold=float(metadata.get("threshold", 0.5)))
        count, pairs = (1, [("gradcam", config.LAST_CONV_LAYER)]) if options.dry_run else (AUDIT_CELLS, None)
        return attach_audit(explainer, output, metadata, [Path(record.path) for record in records], count, pairs)
    except Exception as error:  # The model is saved and usable without its audit.
        log(f"The explanation audit failed ({error}); run python -m core.cli.audit --model {output} later.")
        return metadata


# What a run writes besides its crop cache: the model, its best checkpoint and a backup with the optimizer's
# state (about 3x the weights). ResNet50's float32 weights are about 95 MB; the margin covers the CSVs and index.
MODEL_FILES_BYTES = 800 * 1024 * 1024


def check_free_space(output: Path, options: TrainOptions, images: int) -> None:
    """Refuse to start when the output's disk cannot hold the model files and the crop cache."""
    cache_bytes = 0 if options.dry_run else images * options.image_size ** 2 * 3
    needed = (MODEL_FILES_BYTES if not options.dry_run else MODEL_FILES_BYTES // 4) + cache_bytes
    free = shutil.disk_usage(output.parent).free
    if free < needed:
        raise DatasetError(f"{output.parent} has {free / 2**20:,.0f} MB free; this run needs about {needed / 2**20:,.0f} MB "
                           "(model, best checkpoint, backup and crop cache). Free some space or pass --output elsewhere.")


def options_record(options: TrainOptions) -> dict[str, Any]:
    """The options as the sidecar stores them: JSON values, paths as text."""
    return {key: (str(value) if isinstance(value, Path) else value) for key, value in vars(options).items()}
