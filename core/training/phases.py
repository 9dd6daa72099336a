"""The two training phases: the head on a frozen base (or everything from random weights), then fine-tuning.

Each phase is one `model.fit` with early stopping, a best checkpoint, a learning-rate schedule, a
CSV log, Keras' backup-and-restore and the run's progress record (`core.training.resume`).
"""
from __future__ import annotations

import errno
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import keras
import tensorflow as tf

from core.config import BACKUP_SUFFIX, BEST_CHECKPOINT_SUFFIX, LOG_SUFFIX, beside_model
from core.training.freezing import freeze_base
from core.training.options import EPOCH_END_PREFIX, Progress, TrainOptions
from core.training.resume import ProgressRecorder, ResumableEarlyStopping, RunProgress, save_progress

SUMMARY_KEYS = {"loss", "auc", "val_loss", "val_auc", "learning_rate"}


class Stopwatch:
    """Seconds since creation, for progress estimates."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.start


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
        if self.progress:  # After the held-out pass: the app measures whole epochs from these.
            fraction = min(self.done_steps / self.total_steps, 1.0)
            self.progress(fraction, f"{EPOCH_END_PREFIX} {epoch + 1} ({self.phase}): step {self.done_steps} of {self.total_steps}")


def make_callbacks(options: TrainOptions, phase: str, summary: EpochSummary, hooks: Hooks) -> list:
    """Early stopping (best weights restored), best checkpoint, LR on plateau, CSV log, backup/restore, progress.

    Early stopping and the best checkpoint continue from the scores an interrupted attempt finished.
    """
    output, earlier = Path(options.output), hooks.run.progress.scores(phase)
    return [
        keras.callbacks.BackupAndRestore(str(backup_folder(output, phase))),
        ResumableEarlyStopping(earlier, monitor="val_auc", mode="max", patience=options.patience, restore_best_weights=True),
        keras.callbacks.ModelCheckpoint(str(beside_model(output, BEST_CHECKPOINT_SUFFIX)), monitor="val_auc", mode="max", save_best_only=True,
                                        initial_value_threshold=max(earlier) if earlier else None),
        ProgressRecorder(output, hooks.run.progress, phase, hooks.run.earlier_seconds, hooks.run.session_start),
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=max(1, options.patience // 2), min_lr=1e-6),
        keras.callbacks.CSVLogger(str(beside_model(output, LOG_SUFFIX)), append=True),
        summary,
        *hooks.extra,
    ]


def backup_folder(output: Path, phase: str) -> Path:
    """Where Keras' BackupAndRestore keeps the interrupted state of one phase."""
    return beside_model(output, BACKUP_SUFFIX) / phase.replace(" ", "_")


@dataclass(frozen=True)
class Resumed:
    """The run's progress over every attempt, and the clock of this attempt."""

    progress: RunProgress
    earlier_seconds: float
    session_start: float


@dataclass(frozen=True)
class Hooks:
    """What a run reports to: a progress callback, a line logger, extra Keras callbacks, and its resumed state."""

    progress: Progress | None
    log: Callable[[str], None]
    extra: list
    run: Resumed


def run_phases(model: keras.Model, options: TrainOptions, train_ds: tf.data.Dataset, validation_ds: tf.data.Dataset,
               weights: dict[int, float], hooks: Hooks) -> dict[str, list]:
    """Phase 1: head on a frozen base (or everything, from random weights); phase 2: fine-tune."""
    pretrained = options.weights.lower() != "none"
    steps = 1 if options.dry_run else None
    phases = [("head" if pretrained else "all layers", options.epochs, options.learning_rate, False),
              ("fine-tune", options.fine_tune_epochs, options.fine_tune_learning_rate, True)]
    per_epoch = steps or int(train_ds.cardinality().numpy())
    total = per_epoch * sum(max(0, epochs) for _, epochs, _, _ in phases)
    progress = hooks.run.progress
    for number, (phase, epochs, learning_rate, fine_tune) in enumerate(phases):
        if epochs <= 0:
            continue
        later_started = any(backup_folder(options.output, later[0]).exists() for later in phases[number + 1:])
        if phase in progress.finished_phases and later_started:
            continue  # The later phase's backup holds the weights this phase ended with.
        if not backup_folder(options.output, phase).exists():
            progress.forget(phase)  # The phase starts from its beginning: earlier epochs of it no longer count.
        freeze_base(model, trainable=fine_tune or not pretrained, keep_bn_frozen=pretrained)
        model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="binary_crossentropy", metrics=[keras.metrics.AUC(name="auc")], jit_compile=False)
        # Adam's moments made now, not inside the first step: a step that creates variables is traced twice, and
        # tracing ResNet50's step costs about 13 s on 2 CPU cores (a first epoch of 25 s became one of 12).
        model.optimizer.build(model.trainable_variables)
        summary = EpochSummary(phase, total, progress.done_steps, hooks.progress, hooks.log)
        fit_phase(model, (train_ds, validation_ds), dict(epochs=1 if options.dry_run else epochs, class_weight=weights,
                  steps_per_epoch=steps, validation_steps=steps), make_callbacks(options, phase, summary, hooks), hooks.log)
        progress.finished_phases.append(phase)
        save_progress(Path(options.output), progress)
    return progress.history


def fit_phase(model: keras.Model, data: tuple, fit_arguments: dict, callbacks: list, log: Callable[[str], None]) -> None:
    """`model.fit` for one phase; a backup that cannot be restored (torn by a crash) is discarded once, with a notice."""
    backup = next(callback for callback in callbacks if isinstance(callback, keras.callbacks.BackupAndRestore))
    had_backup = Path(backup.backup_dir).exists()
    arguments = dict(validation_data=data[1], callbacks=callbacks, verbose=1 if sys.stdout.isatty() else 2, **fit_arguments)
    try:
        model.fit(data[0], **arguments)
    except (OSError, ValueError) as error:
        if not had_backup or getattr(error, "errno", None) == errno.ENOSPC:
            raise
        log(f"The saved state in {backup.backup_dir} could not be restored ({type(error).__name__}); it was discarded "
            "and this phase starts again.")
        shutil.rmtree(backup.backup_dir, ignore_errors=True)
        model.fit(data[0], **arguments)
