"""A run survives faults: a full disk is a clear error, and resuming keeps history, time and early-stopping state."""
from __future__ import annotations

import errno
import shutil
from collections import namedtuple
from pathlib import Path

import keras
import pytest

from core.errors import DatasetError
from core.training.options import TrainOptions
from core.training.resume import ResumableEarlyStopping, RunProgress, load_progress, progress_path, save_progress
from core.training.run import train


def options_for(data: Path, output: Path, **changes) -> TrainOptions:
    return TrainOptions(data_dir=data, output=output, weights="none", image_size=32, epochs=2, fine_tune_epochs=0,
                        batch_size=8, **changes)


def test_a_disk_without_room_is_refused_before_training(synthetic_data_root, tmp_path, monkeypatch):
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 30 * 2**20, 30 * 2**20))
    with pytest.raises(DatasetError, match="has 30 MB free; this run needs about"):
        train(options_for(synthetic_data_root, tmp_path / "model.keras"), log=lambda line: None)
    assert not (tmp_path / "model.keras").exists()


@pytest.mark.training
def test_a_disk_filling_up_mid_run_is_a_clear_error(synthetic_data_root, tmp_path):
    class DiskFull(keras.callbacks.Callback):
        """The disk fills as the first batch starts: `fit` is under way, and no step has to be traced first."""

        def on_train_batch_begin(self, batch, logs=None):
            raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(DatasetError, match="filled up during training.*run the same command again"):
        train(options_for(synthetic_data_root, tmp_path / "model.keras", dry_run=True), log=lambda line: None,
              extra_callbacks=[DiskFull()])


def test_an_unreadable_progress_record_is_discarded_with_a_notice(tmp_path):
    output = tmp_path / "model.keras"
    progress_path(output).write_text("{torn")
    notices = []
    assert load_progress(output, notices.append) == RunProgress()
    assert notices and "discarded" in notices[0] and not progress_path(output).exists()


def test_progress_round_trips_and_forgets_a_phase(tmp_path):
    output = tmp_path / "model.keras"
    progress = RunProgress({"phase": ["head", "head", "fine-tune"], "val_auc": [0.6, 0.7, 0.8]}, 12.5, 30, ["head"])
    save_progress(output, progress)
    loaded = load_progress(output, print)
    assert loaded == progress and loaded.scores("head") == [0.6, 0.7]
    loaded.forget("head")
    assert loaded.history == {"phase": ["fine-tune"], "val_auc": [0.8]} and loaded.finished_phases == []


def test_early_stopping_continues_from_the_earlier_scores():
    stopping = ResumableEarlyStopping([0.5, 0.9, 0.8], monitor="val_auc", mode="max", patience=3)
    stopping.set_model(keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)]))
    stopping.on_train_begin()
    assert stopping.best == 0.9 and stopping.wait == 1
