"""Fixtures shared across the test suite: a tiny model and a small synthetic dataset.

Both are built once per session; nothing is downloaded. The tiny model is a real
ResNet50 at 64 px with random weights: fast to load, same layers and sidecar as the real one.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

TINY_IMAGE_SIZE = 64


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory) -> Path:
    """A saved `.keras` classifier (64 px, random weights) with its sidecar JSON."""
    from core.model import base_metadata, build_classifier, save_model

    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    save_model(build_classifier(image_size=TINY_IMAGE_SIZE, weights=None), path, base_metadata(TINY_IMAGE_SIZE))
    return path


@pytest.fixture(scope="session")
def synthetic_data_root(tmp_path_factory) -> Path:
    """A small synthetic C-NMC_Leukemia folder: 6 training subjects, about 3 cells each."""
    from core.synthetic import generate_dataset

    return generate_dataset(tmp_path_factory.mktemp("data"), subjects=6, images_per_subject=3)


@pytest.fixture
def fake_build_env(monkeypatch, tmp_path, tiny_model_path) -> Path:
    """Settings for the stand-in demo builds of `tests/fake_builds.py`, which run in a child process.

    Returns the folder holding FAKE_BUILD_RELEASE ("release": touch it to let a build finish)
    and FAKE_BUILD_CALLS ("calls.txt": the arguments the build received). Choose the stand-in
    with `monkeypatch.setattr(pages.demo_build, "BUILDER", "fake_builds:...")`.
    """
    tests_dir = str(Path(__file__).resolve().parent)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [tests_dir, os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("FAKE_BUILD_MODEL", str(tiny_model_path))
    monkeypatch.setenv("FAKE_BUILD_RELEASE", str(tmp_path / "release"))
    monkeypatch.setenv("FAKE_BUILD_CALLS", str(tmp_path / "calls.txt"))
    return tmp_path
