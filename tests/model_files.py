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


def install_demo_model(model_path: Path, folder: Path, data_root: Path) -> Path:
    """`install_model` with a demo sidecar ("is_demo") and a split CSV beside it over `data_root`'s training cells.

    Half the training subjects are "validation" (held out) and half "train" (seen in training); the
    labelled validation folder stays the external set.
    """
    from core.data.index import index_dataset
    from core.data.sides import split_csv_path
    from core.model.store import base_metadata
    from core.reporting.sidecar import write_split_csv

    path = install_model(model_path, folder, {**base_metadata(64), "is_demo": True})
    index = index_dataset(data_root)
    training = [record for record in index.labelled() if record.split != "validation"]
    held_out = set(sorted({record.subject for record in training})[::2])
    write_split_csv(split_csv_path(path), {"train": [r for r in training if r.subject not in held_out],
                                           "validation": [r for r in training if r.subject in held_out]}, index.root)
    return path
