"""The training run: pipeline, two phases of `fit`, callbacks, evaluation and the sidecar."""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import keras
import numpy as np
import tensorflow as tf

from core.data.index import ImageRecord
from core.data.labels import label_codes
from core.errors import DatasetError
from core.model.network import build_classifier
from core.reporting.calibration_fit import summary_line
from core.reporting.sidecar import TrainingRun, artifact, evaluate_and_save
from core.training.options import Progress, TrainOptions
from core.training.selection import class_weights, select_data
from core.training.devices import check_batch_for_replicas, choose_strategy, configure_precision
from core.training.freezing import freeze_base, set_bn_momentum


SUMMARY_KEYS = {"loss", "auc", "val_loss", "val_auc", "learning_rate"}


class Stopwatch:
    """Seconds since creation, for progress estimates."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.start


@dataclass
class TrainResult:
    """What a run produced: the model path and its sidecar metadata."""

    model_path: Path
    metadata: dict[str, Any]


class EpochSummary(keras.callbacks.Callback):
    """One readable line per epoch, and step fractions for a progress bar."""

    def __init__(self, phase: str, total_steps: int, done_steps: int, progress: Progress | None, log: Callable[[str], None]) -> None:
        super().__init__()
        self.phase, self.total_steps, self.done_steps = phase, max(total_steps, 1), done_steps
        self.progress, self.log, self.clock = progress, log, Stopwatch()

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.done_steps += 1
        if self.progress:
            fraction = min(self.done_steps / self.total_steps, 1.0)
            self.progress(fraction, f"Training ({self.phase}): step {self.done_steps} of {self.total_steps}")

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        shown = " · ".join(f"{key} {value:.4f}" for key, value in (logs or {}).items() if key in SUMMARY_KEYS)
        self.log(f"[{self.phase}] epoch {epoch + 1}: {shown} · {self.clock.elapsed():.1f} s")


def make_callbacks(options: TrainOptions, phase: str, summary: EpochSummary, extra: list) -> list:
    """Early stopping (best weights restored), best checkpoint, LR on plateau, CSV log, backup/restore."""
    output = Path(options.output)
    return [
        keras.callbacks.BackupAndRestore(str(artifact(output, ".backup") / phase)),
        keras.callbacks.EarlyStopping(monitor="val_auc", mode="max", patience=options.patience, restore_best_weights=True),
        keras.callbacks.ModelCheckpoint(str(artifact(output, ".best.keras")), monitor="val_auc", mode="max", save_best_only=True),
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=max(1, options.patience // 2), min_lr=1e-6),
        keras.callbacks.CSVLogger(str(artifact(output, ".log.csv")), append=True),
        summary,
        *extra,
    ]


@dataclass(frozen=True)
class Hooks:
    """What a run reports to: a progress callback, a line logger and extra Keras callbacks."""

    progress: Progress | None
    log: Callable[[str], None]
    extra: list


def datasets(options: TrainOptions, train_records: list[ImageRecord],
             validation_records: list[ImageRecord]) -> tuple[tf.data.Dataset, tf.data.Dataset]:
    """The training and validation tf.data pipelines (crops cached on disk unless dry-run)."""
    from core.training.pipeline import make_dataset

    cache = None if options.dry_run else (options.cache_dir or artifact(Path(options.output), ".cache"))
    train = make_dataset([r.path for r in train_records], label_codes(r.label for r in train_records), options.image_size, options.batch_size, True, cache, options.seed)
    validation = make_dataset([r.path for r in validation_records], label_codes(r.label for r in validation_records), options.image_size, options.batch_size, False, cache)
    return train, validation


def run_phases(model: keras.Model, options: TrainOptions, train_ds: tf.data.Dataset, validation_ds: tf.data.Dataset,
               weights: dict[int, float], hooks: Hooks) -> dict[str, list]:
    """Phase 1: head on a frozen base (or everything, from random weights); phase 2: fine-tune."""
    pretrained = options.weights.lower() != "none"
    steps = 1 if options.dry_run else None
    phases = [("head" if pretrained else "all layers", options.epochs, options.learning_rate, False),
              ("fine-tune", options.fine_tune_epochs, options.fine_tune_learning_rate, True)]
    history: dict[str, list] = {"phase": []}
    per_epoch = steps or int(train_ds.cardinality().numpy())
    total = per_epoch * sum(max(0, epochs) for _, epochs, _, _ in phases)
    done = 0
    for phase, epochs, learning_rate, fine_tune in phases:
        if epochs <= 0:
            continue
        epochs = 1 if options.dry_run else epochs
        freeze_base(model, trainable=fine_tune or not pretrained, keep_bn_frozen=pretrained)
        model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="binary_crossentropy", metrics=[keras.metrics.AUC(name="auc")], jit_compile=False)
        summary = EpochSummary(phase, total, done, hooks.progress, hooks.log)
        fit = model.fit(train_ds, validation_data=validation_ds, epochs=epochs, class_weight=weights, steps_per_epoch=steps,
                        validation_steps=steps, callbacks=make_callbacks(options, phase.replace(" ", "_"), summary, hooks.extra),
                        verbose=1 if sys.stdout.isatty() else 2)
        done = summary.done_steps
        for key, values in fit.history.items():
            history.setdefault(key, []).extend(float(value) for value in values)
        history["phase"].extend([phase] * len(fit.history.get("loss", [])))
    return history


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
    """
    clock = Stopwatch()
    prepare_output(Path(options.output))
    seed_everything(options.seed)
    index, split, external = select_data(options)
    if options.dry_run:
        split.train[:] = split.train[: options.batch_size]
        split.validation[:] = split.validation[: options.batch_size]
        external = external[: options.batch_size]
    log(f"Training on {len(split.train)} images, validating on {len(split.validation)} ({split.kind} split, seed {split.seed}); "
        f"external test set: {len(external)} images.")
    precision = configure_precision(options.mixed_precision)
    strategy = choose_strategy()
    check_batch_for_replicas(options.batch_size, {"training": len(split.train), "validation": len(split.validation)},
                             strategy.num_replicas_in_sync)
    train_ds, validation_ds = datasets(options, split.train, split.validation)
    with strategy.scope():
        model = build_classifier(options.image_size, weights=options.weights)
        set_bn_momentum(model, options.bn_momentum)
        weights = class_weights(label_codes(r.label for r in split.train))
        history = run_phases(model, options, train_ds, validation_ds, weights, Hooks(progress, log, extra_callbacks or []))
    if progress:
        progress(1.0, "Evaluating on held-out subjects…")
    run = TrainingRun(options=options_record(options), index=index, split=split, external=external, history=history,
                      precision=precision, replicas=strategy.num_replicas_in_sync, seconds=clock.elapsed())
    metadata = evaluate_and_save(model, run, lambda records: predict_records(model, records, options))
    log(f"Saved {options.output} ({clock.elapsed():.0f} s). Validation ROC AUC {metadata['evaluation']['validation'].get('roc_auc')}.")
    external_summary = summary_line(metadata['evaluation'].get('external') or {})
    if external_summary:
        log(f"External set, {external_summary}.")
    return TrainResult(Path(options.output), metadata)


def options_record(options: TrainOptions) -> dict[str, Any]:
    """The options as the sidecar stores them: JSON values, paths as text."""
    return {key: (str(value) if isinstance(value, Path) else value) for key, value in vars(options).items()}
