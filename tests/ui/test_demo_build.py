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


def test_remaining_time_is_estimated_from_the_fraction_done():
    job = DemoBuild()
    job._lock.acquire()  # Pretend a build is running and is a quarter done after 30 s.
    job._set(fraction=0.25, message="Training", started=time.monotonic() - 30)
    try:
        assert job.status().remaining_s == pytest.approx(90, abs=1)
    finally:
        job._lock.release()
