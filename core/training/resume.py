"""Carrying a training run across an interruption: history, time, steps, finished phases, early-stopping state.

Keras' `BackupAndRestore` brings back the weights and the epoch counter of the phase that was
interrupted. Everything else a run reports (its whole history, its training time, the steps
done for the progress bar, which phases are finished) lives in `<model>.progress.json`,
rewritten atomically after every epoch and removed once the model is saved. A progress file
that cannot be read is discarded with a notice: the run then starts over.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import keras
import numpy as np

from core.config import PROGRESS_SUFFIX, beside_model



@dataclass
class RunProgress:
    """What the epochs finished so far produced, over every earlier attempt of the same run."""

    history: dict[str, list] = field(default_factory=lambda: {"phase": []})
    seconds: float = 0.0
    done_steps: int = 0
    finished_phases: list[str] = field(default_factory=list)

    def forget(self, phase: str) -> None:
        """Drop a phase's epochs, to run it again from its start (its weights were not kept)."""
        keep = [name != phase for name in self.history["phase"]]
        self.history = {key: [value for value, kept in zip(values, keep) if kept] for key, values in self.history.items()}
        self.finished_phases = [name for name in self.finished_phases if name != phase]

    def scores(self, phase: str, metric: str = "val_auc") -> list[float]:
        """The `metric` of every finished epoch of `phase`, in order."""
        return [value for value, name in zip(self.history.get(metric, []), self.history["phase"]) if name == phase]


def progress_path(output: Path) -> Path:
    return beside_model(output, PROGRESS_SUFFIX)


def load_progress(output: Path, log: Callable[[str], None]) -> RunProgress:
    """The progress of an interrupted run of `output`, or a fresh one when there is none or it is unreadable."""
    path = progress_path(output)
    if not path.is_file():
        return RunProgress()
    try:
        return RunProgress(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        log(f"The saved progress {path.name} could not be read; it was discarded and the run starts over.")
        path.unlink(missing_ok=True)
        return RunProgress()


def save_progress(output: Path, progress: RunProgress) -> None:
    """Write the progress atomically (temporary file, then rename): an interruption never tears it."""
    path = progress_path(output)
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(asdict(progress)))
    temporary.replace(path)


class ProgressRecorder(keras.callbacks.Callback):
    """Appends each finished epoch to the run's progress and saves it."""

    def __init__(self, output: Path, progress: RunProgress, phase: str, earlier_seconds: float, session_start: float) -> None:
        super().__init__()
        self.output, self.progress, self.phase = Path(output), progress, phase
        self.earlier_seconds, self.session_start = earlier_seconds, session_start

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.progress.done_steps += 1

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        for key, value in (logs or {}).items():
            self.progress.history.setdefault(key, []).append(float(value))
        self.progress.history["phase"].append(self.phase)
        self.progress.seconds = self.earlier_seconds + time.perf_counter() - self.session_start
        save_progress(self.output, self.progress)


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """EarlyStopping that continues from the scores of the epochs an earlier attempt finished."""

    def __init__(self, earlier_scores: list[float], **kwargs) -> None:
        super().__init__(**kwargs)
        self.earlier_scores = list(earlier_scores)

    def on_train_begin(self, logs: dict | None = None) -> None:
        super().on_train_begin(logs)
        if self.earlier_scores:
            best = int(np.argmax(self.earlier_scores))
            self.best = float(self.earlier_scores[best])
            self.wait = len(self.earlier_scores) - 1 - best
