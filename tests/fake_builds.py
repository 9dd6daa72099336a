"""Stand-ins for `core.training.demo.build_demo_model`, run in the demo build's child process.

The child is a fresh interpreter, so these are named by "module:function" (see
`ui.demo_build.BUILDER`) and take their settings from environment variables, which the
child inherits: FAKE_BUILD_MODEL (a model to copy), FAKE_BUILD_RELEASE (a file whose
appearance lets the build finish) and FAKE_BUILD_CALLS (where the arguments are recorded).

A build waits for its release file as long as it takes: it ends when the test says so, never on
a clock (the `fake_build_env` fixture releases it when the test ends, so none outlives its test).
"""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from core.errors import DatasetError

RELEASE_CHECK_S = 0.05  # How often the child looks for its release file.


def copy_tiny_model(model_path: Path, data_root: Path, progress=None) -> Path:
    """Report half-way, wait for the release file, then copy the tiny model and its sidecar."""
    Path(os.environ["FAKE_BUILD_CALLS"]).write_text(f"{model_path}\n{data_root}\n")
    progress(0.5, "Training the demo model…")
    release = Path(os.environ["FAKE_BUILD_RELEASE"])
    while not release.exists():
        time.sleep(RELEASE_CHECK_S)
    source = Path(os.environ["FAKE_BUILD_MODEL"])
    Path(model_path).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(source, model_path)
    shutil.copy(source.with_suffix(".json"), Path(model_path).with_suffix(".json"))
    progress(1.0, "Done")
    return Path(model_path)


def epochs_then_evaluation(model_path: Path, data_root: Path, progress=None) -> Path:
    """Report two epochs as the trainer does, then the evaluation step, and wait there for the release file."""
    from core.training.options import EPOCH_END_PREFIX, EVALUATING_MESSAGE

    for epoch in (1, 2):
        progress(0.25 * epoch, f"Training (all layers): step {epoch} of 4")
        progress(0.25 * epoch, f"{EPOCH_END_PREFIX} {epoch} (all layers): step {epoch} of 4")
    progress(1.0, EVALUATING_MESSAGE)
    return copy_tiny_model(model_path, data_root, progress=lambda fraction, message: None)


def fail_readably(model_path: Path, data_root: Path, progress=None) -> Path:
    raise DatasetError("The disk is full: free some space and try again.")


def crash(model_path: Path, data_root: Path, progress=None) -> Path:
    os._exit(3)  # Like a process killed for memory: no message, no exception.
