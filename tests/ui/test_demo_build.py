"""The demo build runs in a child process, one at a time, and always ends in a clear state."""
from __future__ import annotations

import time

import pytest

from ui import demo_build
from ui.demo_build import DemoBuild

WAIT_S = 60


def test_success_writes_the_model_and_runs_the_callback_once(monkeypatch, fake_build_env):
    monkeypatch.setattr(demo_build, "BUILDER", "fake_builds:copy_tiny_model")
    (fake_build_env / "release").touch()
    successes = []
    job = DemoBuild()
    assert job.start(fake_build_env / "out" / "demo.keras", fake_build_env / "data", owner="me", on_success=lambda: successes.append(1))
    assert job.wait(WAIT_S)
    status = job.status()
    assert status.succeeded and status.error is None and status.fraction == 1.0 and status.owner == "me"
    assert (fake_build_env / "out" / "demo.keras").is_file() and (fake_build_env / "out" / "demo.json").is_file()
    assert successes == [1]


def test_a_second_start_while_running_is_refused(monkeypatch, fake_build_env):
    monkeypatch.setattr(demo_build, "BUILDER", "fake_builds:copy_tiny_model")
    job = DemoBuild()
    assert job.start(fake_build_env / "demo.keras", fake_build_env / "data", owner="first")
    assert not job.start(fake_build_env / "demo.keras", fake_build_env / "data", owner="second")
    assert job.status().running and job.status().owner == "first"
    (fake_build_env / "release").touch()
    assert job.wait(WAIT_S) and job.status().succeeded


@pytest.mark.parametrize(("builder", "expected"), [
    ("fake_builds:fail_readably", "The disk is full"),
    ("fake_builds:crash", "exit code 3"),
    ("fake_builds:no_such_function", "failed unexpectedly"),
])
def test_failures_end_with_a_readable_error_and_free_the_lock(monkeypatch, fake_build_env, builder, expected):
    monkeypatch.setattr(demo_build, "BUILDER", builder)
    successes = []
    job = DemoBuild()
    assert job.start(fake_build_env / "demo.keras", fake_build_env / "data", owner="me", on_success=lambda: successes.append(1))
    assert job.wait(WAIT_S)
    status = job.status()
    assert not status.running and not status.succeeded and expected in status.error
    assert successes == []
    assert job.start(fake_build_env / "demo.keras", fake_build_env / "data", owner="me")  # The lock is free again.
    job.wait(WAIT_S)


def test_remaining_time_comes_from_measured_epochs_not_from_the_slow_start():
    """A first epoch of 60 s (compiling) then 10 s epochs: the estimate follows the 10 s epochs."""
    job = DemoBuild()
    job._lock.acquire()  # Pretend a build is running.
    start = time.monotonic() - 80
    try:
        job._set(started=start)
        job.record(0.0, "Generating the synthetic demo cells…", now=start)
        assert job.status().step == demo_build.PREPARING and job.status().remaining_s is None
        job.record(0.01, "Training (all layers): step 1 of 100", now=start + 50)
        job.record(0.1, f"{demo_build.EPOCH_END_PREFIX} 1 (all layers): step 10 of 100", now=start + 60)
        assert job.status().step == demo_build.TRAINING and job.status().remaining_s is None  # One epoch tells nothing yet.
        job.record(0.2, f"{demo_build.EPOCH_END_PREFIX} 2 (all layers): step 20 of 100", now=start + 70)
        job.record(0.3, f"{demo_build.EPOCH_END_PREFIX} 3 (all layers): step 30 of 100", now=start + 80)
        assert job.status().remaining_s == pytest.approx(70, abs=2)  # 7 epochs left at 10 s, not 80 s x 0.7 / 0.3.
        job.record(1.0, demo_build.EVALUATING_MESSAGE)
        status = job.status()
        assert status.step == demo_build.EVALUATING and status.remaining_s is None and status.step_elapsed_s < 5
    finally:
        job._lock.release()


def test_a_build_reports_its_evaluation_step_until_it_ends(monkeypatch, fake_build_env):
    monkeypatch.setattr(demo_build, "BUILDER", "fake_builds:epochs_then_evaluation")
    job = DemoBuild()
    assert job.start(fake_build_env / "demo.keras", fake_build_env / "data", owner="me")
    assert job.wait_for_step(demo_build.EVALUATING, WAIT_S), job.status()
    assert job.status().running and job.status().remaining_s is None
    (fake_build_env / "release").touch()
    assert job.wait(WAIT_S) and job.status().succeeded


def test_waiting_for_a_step_ends_with_a_build_that_never_reaches_it(monkeypatch, fake_build_env):
    """wait_for_step is woken by the build's end too: False at once, not after its timeout."""
    monkeypatch.setattr(demo_build, "BUILDER", "fake_builds:fail_readably")
    job = DemoBuild()
    assert job.start(fake_build_env / "demo.keras", fake_build_env / "data", owner="me")
    assert not job.wait_for_step(demo_build.EVALUATING, WAIT_S)
    assert job.wait(WAIT_S) and "The disk is full" in job.status().error
