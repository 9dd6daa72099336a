"""Fixtures shared across the test suite: a tiny model, a small synthetic dataset, a demo run.

Each is built once per session; nothing is downloaded. The tiny model is a real ResNet50 at
64 px with random weights: fast to load, same layers and sidecar as the real one. The demo run
is `python train.py --demo --dry-run`: the real trainer writes a real model card (sidecar) and
the held-out predictions, which the model card and explorer tests read.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from paths import FILE_LIST, PROJECT_ROOT
from requirements import require_file_list

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

TINY_IMAGE_SIZE = 64
DEMO_RUN_TIMEOUT_S = 1200  # A dry run takes a minute or two; a loaded 2-core CI machine needs slack.


# Fixtures that train a real model (minutes on 2 cores): a test that uses one is marked `training`.
# demo_run: `train.py --demo --dry-run`, here; trained: tests/test_train.py's short real run.
TRAINING_FIXTURES = ("demo_run", "trained")


# Under pytest-xdist (`-n`, with `--dist loadgroup` from pytest.ini) each group runs on one worker, so a fixture
# is made once: a file's tests stay together (its module fixtures), the browser tests and every user of the session's
# demo run share a worker (Chromium, the served apps, the demo run), and the Ray tests run one at a time on theirs
# (two local Ray instances at once would each see the other's processes).
SESSION_RUNS_GROUP, RAY_GROUP = "browser-and-demo-run", "ray"
BROWSER_TESTS = Path(__file__).parent / "browser"


def worker_group(item: pytest.Item) -> str:
    """The xdist group of one collected test (see SESSION_RUNS_GROUP)."""
    if item.get_closest_marker("ray"):
        return RAY_GROUP
    if BROWSER_TESTS in item.path.parents or "demo_run" in getattr(item, "fixturenames", ()):
        return SESSION_RUNS_GROUP
    return item.path.relative_to(Path(__file__).parent).as_posix()


@pytest.hookimpl(tryfirst=True)  # Before `-m` selects by marker.
def pytest_collection_modifyitems(config, items):
    """Mark `training` every test whose fixtures, directly or through others, include a real training run,
    and put every test in its xdist group (`worker_group`)."""
    for item in items:
        if any(name in getattr(item, "fixturenames", ()) for name in TRAINING_FIXTURES):
            item.add_marker(pytest.mark.training)
        item.add_marker(pytest.mark.xdist_group(worker_group(item)))


@dataclass(frozen=True)
class DemoRun:
    """What `python train.py --demo --dry-run` did: its exit status, its output and where it wrote."""

    returncode: int
    output: str
    model_path: Path
    data_root: Path


TINY_MODEL_SEED = 20190101  # C-NMC 2019


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory) -> Path:
    """A saved `.keras` classifier (64 px, random weights from a fixed seed) with its sidecar JSON.

    The seed makes every run of the suite meet the same model: a random one per run let a cell fall
    near a boundary, or a bfloat16 value drift further, in one run out of a few.
    """
    import keras

    from core.model.network import build_classifier
    from core.model.store import base_metadata, save_model

    keras.utils.set_random_seed(TINY_MODEL_SEED)
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    save_model(build_classifier(image_size=TINY_IMAGE_SIZE, weights=None), path, base_metadata(TINY_IMAGE_SIZE))
    return path


@pytest.fixture(scope="session")
def synthetic_data_root(tmp_path_factory) -> Path:
    """A small synthetic C-NMC_Leukemia folder: 6 training subjects, about 3 cells each."""
    from core.data.synthetic import generate_dataset

    return generate_dataset(tmp_path_factory.mktemp("data"), subjects=6, images_per_subject=3)


@pytest.fixture
def fake_build_env(monkeypatch, tmp_path, tiny_model_path) -> Iterator[Path]:
    """Settings for the stand-in demo builds of `tests/fake_builds.py`, which run in a child process.

    Returns the folder holding FAKE_BUILD_RELEASE ("release": touch it to let a build finish)
    and FAKE_BUILD_CALLS ("calls.txt": the arguments the build received). Choose the stand-in
    with `monkeypatch.setattr(ui.demo_build, "BUILDER", "fake_builds:...")`. A build waits for its
    release as long as it takes; the fixture releases it when the test ends.
    """
    tests_dir = str(Path(__file__).resolve().parent)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [tests_dir, os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("FAKE_BUILD_MODEL", str(tiny_model_path))
    monkeypatch.setenv("FAKE_BUILD_RELEASE", str(tmp_path / "release"))
    monkeypatch.setenv("FAKE_BUILD_CALLS", str(tmp_path / "calls.txt"))
    yield tmp_path
    (tmp_path / "release").touch()  # A build the test left waiting ends now, not with the test run.


@pytest.fixture(scope="session")
def real_file_records() -> list:
    """ImageRecords for all 15,114 paths of the real C-NMC file list; no file is touched.

    Training-fold records carry the label and subject parsed from their names; validation
    and test records are unlabeled (the labels CSV is not in the list).
    """
    require_file_list()
    from core.data.index import ImageRecord, parse_training_name

    records = []
    for line in FILE_LIST.read_text().split():
        parts = line.split("/")
        if parts[1] == "training_data":
            subject, label = parse_training_name(parts[-1])
            records.append(ImageRecord(Path(line), parts[2], label, subject))
        else:
            records.append(ImageRecord(Path(line), "test" if parts[1] == "testing_data" else "validation", None, None))
    return records


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory) -> DemoRun:
    """`python train.py --demo --dry-run` once per session, as a user runs it, writing only under tmp.

    LEUKEMIA_DEMO_DATA_ROOT moves the generated synthetic data and --output the model, so
    nothing is written in the repository.
    """
    from core import config

    folder = tmp_path_factory.mktemp("demo_run")
    model_path = folder / "models" / config.MODEL_FILENAME
    env = {**os.environ, "LEUKEMIA_DEMO_DATA_ROOT": str(folder / "data"), "TF_CPP_MIN_LOG_LEVEL": "2"}
    completed = subprocess.run(
        [sys.executable, "train.py", "--demo", "--dry-run", "--output", str(model_path)],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=DEMO_RUN_TIMEOUT_S,
    )
    return DemoRun(completed.returncode, completed.stdout + completed.stderr, model_path, folder / "data")


@pytest.fixture(scope="session")
def trained_model_path(demo_run) -> Path:
    """The `.keras` model the real trainer wrote, next to its sidecar JSON and prediction CSVs."""
    if demo_run.returncode != 0:
        pytest.fail(f"train.py --demo --dry-run exited with {demo_run.returncode}:\n{demo_run.output[-3000:]}")
    return demo_run.model_path


@pytest.fixture(scope="session")
def trained_sidecar_text(trained_model_path) -> str:
    """The sidecar JSON exactly as the trainer wrote it; `json.loads` it for a copy of your own."""
    from core import config

    return config.sidecar_path(trained_model_path).read_text()


@pytest.fixture
def trained_sidecar(trained_sidecar_text) -> dict:
    """A fresh copy of the real sidecar, free to change within one test."""
    return json.loads(trained_sidecar_text)
