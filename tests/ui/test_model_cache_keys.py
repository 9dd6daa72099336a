"""The app's model-level caches see a sidecar rewritten by `core.cli.calibrate` or `core.cli.subjects` without a restart."""
from __future__ import annotations

import json
import os
import shutil

import pytest

from core import config
from ui import cache


def copied_model(tiny_model_path, tmp_path):
    path = tmp_path / "model.keras"
    shutil.copy(tiny_model_path, path)
    shutil.copy(config.sidecar_path(tiny_model_path), config.sidecar_path(path))
    return path


def rewrite_keeping_the_time(sidecar, change: dict) -> None:
    """Rewrite the JSON with `change`, then give the file back its old modification time (a copy, a coarse clock)."""
    stat = sidecar.stat()
    sidecar.write_text(json.dumps({**json.loads(sidecar.read_text()), **change}, indent=2))
    os.utime(sidecar, ns=(stat.st_atime_ns, stat.st_mtime_ns))


@pytest.mark.slow
def test_a_sidecar_rewritten_at_the_same_time_is_a_new_model(tiny_model_path, tmp_path):
    path = copied_model(tiny_model_path, tmp_path)
    before = cache._classifier(str(path), cache.model_stamp(path))
    assert cache._classifier(str(path), cache.model_stamp(path)) is before  # unchanged: the cached model
    rewrite_keeping_the_time(config.sidecar_path(path), {"threshold": 0.123})
    after = cache._classifier(str(path), cache.model_stamp(path))
    assert after is not before and after.threshold == 0.123
    assert cache.model_key(after) != cache.model_key(before)  # every per-image result is computed anew
    assert cache.sidecar_stamp(path) == after.loaded.sidecar_sha256


def test_the_model_card_caches_key_on_the_sidecar_content(tiny_model_path, tmp_path):
    path = copied_model(tiny_model_path, tmp_path)
    first = cache.sidecar(str(path), cache.sidecar_stamp(path))[0]
    rewrite_keeping_the_time(config.sidecar_path(path), {"threshold": 0.321})
    assert cache.sidecar(str(path), cache.sidecar_stamp(path))[0]["threshold"] == 0.321 != first.get("threshold")
