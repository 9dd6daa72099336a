"""Put a model file where the app looks for it, with the sidecar a test wants beside it."""
from __future__ import annotations

import shutil
from pathlib import Path

from core import config


def install_model(model_path: Path, folder: Path, sidecar: dict | None) -> Path:
    """Copy `model_path` to `folder/leukemia_resnet50.keras` and write `sidecar` beside it.

    The sidecar is normally the real one from the `trained_sidecar` fixture, perhaps with a field
    changed; its SHA-256 and file name are set to the copy's. With `sidecar=None` no JSON is
    written, as for a model whose metadata was lost.
    """
    from core.model.store import file_sha256, write_sidecar

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / config.MODEL_FILENAME
    shutil.copyfile(model_path, path)
    if sidecar is not None:
        write_sidecar(path, {**sidecar, "sha256": file_sha256(path), "file_name": path.name})
    return path
