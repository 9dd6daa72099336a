"""Building the demo model in a child process, once per server, whoever asked for it.

Why a process and not a thread of the server: after every script run (every rerun, every
fragment refresh, in every session) Streamlit calls `keras.backend.clear_session()`, which
clears TensorFlow's kernel cache and runs a full garbage collection. A training running
in the server process is slowed down many times over by that (measured: no training step
in 7 minutes with one progress bar refreshing each second; about 4 minutes for the whole
build in a child). A child process has its own Keras state, and its CPU and memory are
returned when it ends.

The child is `python -m core.worker BUILDER MODEL_PATH DATA_ROOT` (see `core.worker` for
its JSON-lines progress protocol), not a `multiprocessing` process: Streamlit replaces
`sys.modules["__main__"]` with the app script, which `multiprocessing` would re-run in the child.

One `DemoBuild` exists per server process (held by `ui.cache.demo_build_job`); a
supervising thread starts the child, relays its progress and records how it ended. Its
lock makes a second click, from any session, a no-op while a build is running.
"""
from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core import config
from core.training.options import EPOCH_END_PREFIX, EVALUATING_MESSAGE
from core.training.worker import UNEXPECTED_FAILURE as WORKER_FAILURE
from core.training.worker import decode

LOGGER = logging.getLogger(__name__)
# "module:function" called in the child as function(model_path, data_root, progress=...).
BUILDER = "core.training.demo:build_demo_model"
# The build's steps as people read them: training (with an estimate), then evaluation (without one).
PREPARING, TRAINING, EVALUATING = "preparing", "training", "evaluating"
UNEXPECTED_FAILURE = ("Building the demo model failed unexpectedly (details are in the server log). "
                      "Try again, or run `python train.py --demo`.")


@dataclass(frozen=True)
class BuildStatus:
    """A consistent snapshot of a build, for display.

    Attributes:
        running: a build is in progress now.
        fraction: share done in [0, 1]; message: what it is doing, from the trainer.
        elapsed_s: seconds since the build started (or that it took, once done).
        remaining_s: estimated seconds of training left, from measured epoch times (the first epoch,
            which includes compiling, is left out), or None before two epochs have ended and while evaluating.
        step: PREPARING (data, model), TRAINING or EVALUATING; step_elapsed_s: seconds in this step.
        owner: the session token of whoever started it; error: why it failed, or None.
        succeeded: the last build finished without error.
    """

    running: bool
    fraction: float
    message: str
    elapsed_s: float
    remaining_s: float | None
    owner: str | None
    error: str | None
    succeeded: bool
    step: str = PREPARING
    step_elapsed_s: float = 0.0


def remaining_from_epochs(epoch_ends: list[tuple[float, float]], fraction: float, now: float) -> float | None:
    """Seconds of training left, at the pace of the epochs after the first; None before two epochs have ended.

    Args:
        epoch_ends: (monotonic time, fraction done) at the end of each epoch so far, in order.
        fraction: the fraction done now; now: the monotonic time now.
    """
    if len(epoch_ends) < 2 or epoch_ends[-1][1] <= epoch_ends[0][1]:
        return None
    (first_time, first_fraction), (last_time, last_fraction) = epoch_ends[0], epoch_ends[-1]
    seconds_per_fraction = (last_time - first_time) / (last_fraction - first_fraction)
    return max(0.0, (1.0 - last_fraction) * seconds_per_fraction - (now - last_time))


class DemoBuild:
    """One build of the demo model at a time, in a child process, with its progress."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._changed = threading.Condition(self._state_lock)  # Notified on each progress message and at the end.
        self._thread: threading.Thread | None = None
        self._fraction, self._message = 0.0, ""
        self._started: float | None = None
        self._finished: float | None = None
        self._owner: str | None = None
        self._error: str | None = None
        self._step, self._step_started = PREPARING, 0.0
        self._epoch_ends: list[tuple[float, float]] = []

    def start(self, model_path: Path, data_root: Path, owner: str, on_success: Callable[[], None] | None = None) -> bool:
        """Start building unless a build is already running; True when this call started one.

        `on_success` runs once, in the supervising thread, after the model is written (the
        app passes a function that forgets every session's cached "no model" state).
        """
        if not self._lock.acquire(blocking=False):
            return False
        with self._state_lock:
            self._fraction, self._message = 0.0, "Starting…"
            self._started, self._finished = time.monotonic(), None
            self._owner, self._error = owner, None
            self._step, self._step_started, self._epoch_ends = PREPARING, self._started, []
        arguments = (BUILDER, str(model_path), str(data_root), on_success)
        self._thread = threading.Thread(target=self._supervise, args=arguments, name="demo-model-build", daemon=True)
        self._thread.start()
        return True

    def _supervise(self, builder: str, model_path: str, data_root: str, on_success: Callable[[], None] | None) -> None:
        """Run the child to its end, relaying its messages; always releases the lock."""
        try:
            search_path = os.pathsep.join(filter(None, [str(config.PROJECT_ROOT), os.environ.get("PYTHONPATH")]))
            command = [sys.executable, "-m", "core.training.worker", builder, model_path, data_root]
            with subprocess.Popen(command, cwd=config.PROJECT_ROOT, env={**os.environ, "PYTHONPATH": search_path},
                                  stdout=subprocess.PIPE, text=True) as child:
                outcome = self._relay(child.stdout)
                exit_code = child.wait()
            if outcome is None:
                self._set(error=f"The build process stopped unexpectedly (exit code {exit_code}). {UNEXPECTED_FAILURE}")
            elif outcome == "done" and on_success is not None:
                on_success()
        except Exception:
            LOGGER.exception("Could not run the demo model build")
            self._set(error=UNEXPECTED_FAILURE)
        finally:
            with self._state_lock:
                self._finished = time.monotonic()
                self._changed.notify_all()
            self._lock.release()

    def _relay(self, lines) -> str | None:
        """Copy the child's messages into this object; "done", "error", or None if it ended silently."""
        for line in lines:
            message = decode(line)
            if message is None:
                LOGGER.warning("Demo build: unexpected output %r", line[:200])
            elif message["kind"] == "progress":
                self.record(min(1.0, max(0.0, message["fraction"])), message["message"])
            elif message["kind"] == "error":
                # The worker's generic failure becomes one that says what to do here.
                self._set(error=UNEXPECTED_FAILURE if message["message"] == WORKER_FAILURE else message["message"])
                return "error"
            else:
                self._set(fraction=1.0, message="Done")
                return "done"
        return None

    def record(self, fraction: float, message: str, now: float | None = None) -> None:
        """Take in one progress message: its step, and the time of each epoch's end."""
        now = time.monotonic() if now is None else now
        step = EVALUATING if message == EVALUATING_MESSAGE else TRAINING if message.startswith(("Training", EPOCH_END_PREFIX)) else None
        with self._state_lock:
            self._fraction, self._message = fraction, message
            if step is not None and step != self._step:
                self._step, self._step_started = step, now
            if message.startswith(EPOCH_END_PREFIX):
                self._epoch_ends.append((now, fraction))
            self._changed.notify_all()

    def _set(self, **fields) -> None:
        with self._state_lock:
            for name, value in fields.items():
                setattr(self, f"_{name}", value)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the current build ends (for tests and scripts); True when none is running."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self._lock.locked()

    def wait_for_step(self, step: str, timeout: float | None = None) -> bool:
        """Block until the running build reports `step` (for tests and scripts); False if it ends or times out first.

        Woken by each progress message, so it waits for the build itself, not a clock's guess.
        """
        with self._changed:
            self._changed.wait_for(lambda: self._step == step or self._finished is not None, timeout)
            return self._step == step and self._finished is None

    def status(self) -> BuildStatus:
        """A snapshot of the build; elapsed and remaining times come from the fractions reported."""
        with self._state_lock:
            running = self._lock.locked()
            end = time.monotonic() if self._finished is None else self._finished
            elapsed = 0.0 if self._started is None else end - self._started
            training = running and self._step == TRAINING
            remaining = remaining_from_epochs(self._epoch_ends, self._fraction, end) if training else None
            succeeded = not running and self._finished is not None and self._error is None
            return BuildStatus(running, self._fraction, self._message, elapsed, remaining, self._owner, self._error, succeeded,
                               self._step, end - (self._step_started or end))

