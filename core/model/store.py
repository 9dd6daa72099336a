"""Saving a classifier with its sidecar JSON, and loading it safely (Keras safe mode, checked shapes, SHA-256).

The sidecar (`<model>.json`) carries the model card's data: class names, threshold, input
size, preprocessing, metrics and provenance. Loading checks the model maps (N, S, S, 3)
images to (N, 1) probabilities and compares the file's SHA-256 with the recorded one.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras

from core import config
from core.data import labels
from core.errors import ModelError
from core.model.sidecar_schema import CARD_UNKNOWN_KEY, CardFacts, check_archive, read_sidecar_file

SIDECAR_FORMAT_VERSION = 1
LOGGER = logging.getLogger(__name__)
# Keras' words for a layer class it will not build: unknown, not a Keras class, or code (a Lambda) in safe mode.
_REFUSED_CLASS = re.compile(r"Could not (?:locate class|deserialize) '(?:keras\.layers\.)?([^']{1,200})'"
                            r"|deserialization of a `?(\w+)`? layer")


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks (`hashlib.file_digest`)."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def base_metadata(image_size: int) -> dict[str, Any]:
    """The sidecar fields every model has; `train.py` adds evaluation, history and provenance."""
    return {
        "format_version": SIDECAR_FORMAT_VERSION,
        "model_name": "leukemia_resnet50",
        "class_names": list(labels.CLASS_NAMES),
        "positive_class": labels.POSITIVE_LABEL,
        "threshold": config.DEFAULT_THRESHOLD,
        "image_size": image_size,
        "last_conv_layer": config.LAST_CONV_LAYER,
        "preprocessing": {
            "steps": ["grayscale", "clahe", "otsu_mask", "square_crop", "resize"],
            "clahe_clip_limit": config.CLAHE_CLIP_LIMIT,
            "clahe_tile_grid": list(config.CLAHE_TILE_GRID),
            "crop_margin_fraction": config.CROP_MARGIN_FRACTION,
            "input_scaling": "keras.applications.resnet50.preprocess_input (caffe)",
        },
        "is_demo": False,
    }


def save_model(model: keras.Model, path: Path, metadata: dict[str, Any]) -> dict[str, Any]:
    """Write `path` (.keras) and its sidecar JSON; returns the metadata with sha256 filled in."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    metadata = {**metadata, "sha256": file_sha256(path), "file_name": path.name}
    write_sidecar(path, metadata)
    return metadata


def write_sidecar(model_path: Path, metadata: dict[str, Any]) -> None:
    """Write the sidecar atomically (temporary file, then rename) so readers never see half."""
    target = config.sidecar_path(model_path)
    temporary = target.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(metadata, indent=2, default=str))
    temporary.replace(target)


@dataclass
class LoadedModel(CardFacts):
    """A model together with its sidecar and the integrity check of its file."""

    model: keras.Model
    metadata: dict[str, Any]
    path: Path
    sha256: str
    warnings: list[str] = field(default_factory=list)
    sidecar_sha256: str = ""  # of the sidecar file as read ("" without one): part of every cache key of the app

    @property
    def image_size(self) -> int:
        return int(self.metadata.get("image_size", self.model.input_shape[1]))


def sidecar_sha256(model_path: Path) -> str:
    """Hex SHA-256 of the sidecar's bytes, or "" when there is none: a rewritten card changes it whatever its time stamp."""
    try:
        return hashlib.sha256(config.sidecar_path(Path(model_path)).read_bytes()).hexdigest()
    except OSError:
        return ""


def read_sidecar(model_path: Path) -> tuple[dict[str, Any], list[str]]:
    """The sidecar's metadata and warnings; a missing sidecar, or one without a threshold, gives a warning."""
    sidecar = config.sidecar_path(model_path)
    if not sidecar.is_file():
        return {}, [f"No metadata file {sidecar.name} next to the model: its threshold and metrics are unknown "
                    "(the default threshold 0.5 is used)."]
    metadata = read_sidecar_file(sidecar)
    if "threshold" not in metadata:
        return metadata, [f"The metadata file {sidecar.name} records no threshold: the model's threshold and metrics "
                          "are unknown (the default threshold 0.5 is used)."]
    return metadata, []


def check_compatible(model: keras.Model, metadata: dict[str, Any], path: Path) -> None:
    """Raise ModelError unless the model maps (N, S, S, 3) images to (N, 1) probabilities."""
    input_shape, output_shape = tuple(model.input_shape), tuple(model.output_shape)
    if len(input_shape) != 4 or input_shape[-1] != 3 or output_shape[-1] != 1:
        raise ModelError(
            f"{path.name} is not a leukemia classifier: it maps {input_shape} to {output_shape}, "
            "expected (None, size, size, 3) to (None, 1). Train one with `python train.py`."
        )
    size = metadata.get("image_size")
    if size is not None and int(size) != input_shape[1]:
        raise ModelError(f"{path.name} takes {input_shape[1]}px inputs but its metadata says {size}px. Retrain it.")
    if list(metadata.get("class_names", labels.CLASS_NAMES)) != list(labels.CLASS_NAMES):
        raise ModelError(f"{path.name} has classes {metadata.get('class_names')}, expected {list(labels.CLASS_NAMES)}.")


def keras_refusal(error: Exception) -> str:
    """A one-sentence summary of why Keras would not load a file; its full text goes to the log (INFO).

    Keras' own message can be long and quotes the file's config, class names included, which
    come from whoever made the file; the summary names at most the refused class.
    """
    LOGGER.info("Keras refused a model file: %s: %s", type(error).__name__, error)
    found = _REFUSED_CLASS.search(str(error))
    if found:
        return f"the file uses a layer this app does not allow: {found.group(1) or found.group(2)}."
    return "it is corrupt or from an incompatible version of Keras (the details are in the server log)."


def load_classifier(path: str | os.PathLike, allow_modified: bool | None = None) -> LoadedModel:
    """Load a `.keras` model in safe mode (no custom code runs) with its validated sidecar.

    The sidecar and the archive's declared sizes and input shape are checked before Keras
    builds anything (`core.model.sidecar_schema`).

    Args:
        path: the `.keras` file.
        allow_modified: load a file whose SHA-256 differs from its sidecar's (with a warning);
            None reads `LEUKEMIA_ALLOW_MODIFIED_MODEL` (`config.allow_modified_model`).

    Raises:
        ModelError: missing, corrupt or oversized file, a sidecar field out of range, a file
            changed after training, or a model this code cannot use.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise ModelError(f"No model file at {path}. Build the demo model with `python train.py --demo`, or set LEUKEMIA_MODEL.")
    if path.suffix != ".keras":
        raise ModelError(f"{path.name} is not a .keras model file. Save models in the Keras v3 format.")
    card_digest = sidecar_sha256(path)
    metadata, warnings = read_sidecar(path)
    check_archive(path)
    sha256 = file_sha256(path)
    modified = bool(metadata.get("sha256")) and metadata["sha256"] != sha256
    if modified and not (config.allow_modified_model() if allow_modified is None else allow_modified):
        # Refused before Keras parses the file: it is not the file the model card describes.
        raise ModelError(f"{path.name} does not match the SHA-256 recorded in its model card ({config.sidecar_path(path).name}): "
                         "the file changed after training, so the card's threshold and metrics may not describe it. "
                         "Restore the file or retrain; to use it anyway, set LEUKEMIA_ALLOW_MODIFIED_MODEL=1.")
    try:
        model = keras.models.load_model(path, compile=False, safe_mode=True)
    except Exception as error:  # Keras raises many types for corrupt archives.
        raise ModelError(f"Could not read the model file {path.name}: {keras_refusal(error)}") from error
    check_compatible(model, metadata, path)
    unknown = {CARD_UNKNOWN_KEY: True} if warnings else {}  # Every answer then says so (core.model.assessment).
    loaded = LoadedModel(model, {**base_metadata(model.input_shape[1]), **metadata, **unknown}, path, sha256, warnings,
                         card_digest)
    if modified:
        loaded.warnings.append(f"{path.name} does not match the SHA-256 recorded in its metadata: the file changed after training.")
    return loaded
