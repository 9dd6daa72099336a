"""Put a model file where the app looks for it, with the sidecar a test wants beside it."""
from __future__ import annotations

import json
import shutil
import zipfile
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


def install_demo_model(model_path: Path, folder: Path, data_root: Path, extra: dict | None = None) -> Path:
    """`install_model` with a demo sidecar ("is_demo", plus `extra`) and a split CSV over `data_root`'s training cells.

    Half the training subjects are "validation" (held out) and half "train" (seen in training); the
    labelled validation folder stays the external set.
    """
    from core.data.index import index_dataset
    from core.data.sides import split_csv_path
    from core.model.store import base_metadata
    from core.training.sidecar import write_split_csv

    path = install_model(model_path, folder, {**base_metadata(64), "is_demo": True, **(extra or {})})
    index = index_dataset(data_root)
    training = [record for record in index.labelled() if record.split != "validation"]
    held_out = set(sorted({record.subject for record in training})[::2])
    write_split_csv(split_csv_path(path), {"train": [r for r in training if r.subject not in held_out],
                                           "validation": [r for r in training if r.subject in held_out]}, index.root)
    return path


MARKUP_CLASS_NAME = "[Click here](http://127.0.0.2/phish) ![x](http://127.0.0.2/beacon.png)"


def markup_class_model(model_path: Path, folder: Path) -> Path:
    """A copy of `model_path` whose last layer's class is named MARKUP_CLASS_NAME (Keras refuses it), with its sidecar.

    The sidecar keeps the original SHA-256: Keras refuses the file before the hash is compared.
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / config.MODEL_FILENAME
    with zipfile.ZipFile(model_path) as source:
        members = {info.filename: source.read(info) for info in source.infolist()}
    model_config = json.loads(members["config.json"])
    model_config["config"]["layers"][-1]["class_name"] = MARKUP_CLASS_NAME
    members["config.json"] = json.dumps(model_config).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in members.items():
            target.writestr(name, data)
    shutil.copyfile(config.sidecar_path(model_path), config.sidecar_path(path))
    return path
