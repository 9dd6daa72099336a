"""The sidecar's schema, checked in one place before anything is built from a model file.

A model file travels with its sidecar (`<model>.json`); either may come from anyone. Every
field this code relies on is checked for type and range, and every refusal is a `ModelError`
naming the file and the field and saying how to fix it. Sizes are checked from the file
system and from the `.keras` archive's declared sizes before anything is read or extracted.
"""
from __future__ import annotations

import json
import math
import zipfile
from pathlib import Path
from typing import Any

from core import config
from core.data import labels
from core.errors import ModelError
from core.model.subject_schema import check_subject_evaluation

MAX_SIDECAR_BYTES = 8 * 1024 * 1024  # A real sidecar is well under 1 MB.
MAX_INPUT_SIZE = 1024  # Pixels per side; the real model takes 224, the demo 96.
MIN_INPUT_SIZE = 32  # ResNet50 downsamples 32x.
MAX_ARCHIVE_MEMBER_BYTES = {"config.json": 16 * 1024 * 1024, "metadata.json": 1024 * 1024}
# Set by loading (never written) on the metadata of a model whose sidecar is missing or records no
# threshold: its threshold and metrics are unknown, and every answer says so.
CARD_UNKNOWN_KEY = "model_card_unknown"
MAX_ARCHIVE_BYTES = 2 * 1024 ** 3
# The layer classes a flat ResNet50 classifier is built from (`core.model.network`); any other is refused
# before Keras sees the file, whatever Keras' safe mode would do with it.
ALLOWED_LAYERS = frozenset({"InputLayer", "Conv2D", "BatchNormalization", "Activation", "ZeroPadding2D", "MaxPooling2D",
                            "Add", "GlobalAveragePooling2D", "Dropout", "Dense"})  # Uncompressed; ResNet50's float32 weights are about 100 MB.



class CardFacts:
    """What a model's sidecar says that every holder of the model reads (a loaded model, one an inference service runs).

    Mixed into classes with a `metadata` dict (the sidecar) and a `sha256` str (the model file's digest).
    """

    @property
    def threshold(self) -> float:
        """The decision threshold on P(all) the sidecar records, or the default."""
        return float(self.metadata.get("threshold", config.DEFAULT_THRESHOLD))

    @property
    def sha256_matches(self) -> bool | None:
        """True/False against the sidecar's recorded hash, None when the sidecar records none."""
        expected = self.metadata.get("sha256")
        return None if not expected else expected == self.sha256


def _is_number(value: Any) -> bool:
    """A real JSON number: not a bool, not NaN or infinite."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


AUDIT_KEY = "explanation_audit"  # written by core.explain.audit
MAX_AUDIT_ROWS = 64


def _check_audit(audit: Any, source: str, fix: str) -> None:
    """The explanation audit: {"cells": n, "rows": [{"method", "layer", numbers in [-1, 1] or null}]}."""
    rows = audit.get("rows") if isinstance(audit, dict) else None
    cells = audit.get("cells") if isinstance(audit, dict) else None
    if not (isinstance(cells, int) and not isinstance(cells, bool) and cells >= 0 and isinstance(rows, list)
            and len(rows) <= MAX_AUDIT_ROWS):
        raise _refuse(source, AUDIT_KEY, f"must hold a cell count and at most {MAX_AUDIT_ROWS} rows", fix)
    for row in rows:
        texts_ok = isinstance(row, dict) and all(isinstance(row.get(key), str) and len(row[key]) <= 64
                                                 for key in ("method", "layer"))
        numbers = [value for key, value in row.items() if key not in ("method", "layer")] if texts_ok else []
        if not texts_ok or not all(value is None or (_is_number(value) and -1.0 <= value <= 1.0) for value in numbers):
            raise _refuse(source, AUDIT_KEY, "has a row that is not a method, a layer and numbers from -1 to 1", fix)


def _refuse(source: str, field: str, problem: str, fix: str) -> ModelError:
    return ModelError(f"{source}: the field \"{field}\" {problem}. {fix}")


def validate_sidecar(metadata: dict[str, Any], source: str) -> dict[str, Any]:
    """Check the fields the app relies on; returns `metadata` unchanged when it is fit to use.

    Raises:
        ModelError: a field has the wrong type or lies outside its range.
    """
    fix = "Retrain the model or restore its original metadata file."
    threshold = metadata.get("threshold")
    if "threshold" in metadata and not (_is_number(threshold) and 0.0 < threshold < 1.0):
        raise _refuse(source, "threshold", f"must be a number between 0 and 1 (exclusive), not {threshold!r:.40}", fix)
    size = metadata.get("image_size")
    if "image_size" in metadata and not (isinstance(size, int) and not isinstance(size, bool)
                                         and MIN_INPUT_SIZE <= size <= MAX_INPUT_SIZE):
        raise _refuse(source, "image_size", f"must be a whole number of pixels from {MIN_INPUT_SIZE} to "
                      f"{MAX_INPUT_SIZE}, not {size!r:.40}", fix)
    names = metadata.get("class_names", list(labels.CLASS_NAMES))
    if names != list(labels.CLASS_NAMES):
        raise _refuse(source, "class_names", f"must be {list(labels.CLASS_NAMES)}, not {names!r:.60}", fix)
    if AUDIT_KEY in metadata:
        _check_audit(metadata[AUDIT_KEY], source, "Run python -m core.cli.audit --model MODEL to write it again.")
    for field, kind in (("is_demo", bool), ("sha256", str), ("model_name", str)):
        if field in metadata and metadata[field] is not None and not isinstance(metadata[field], kind):
            raise _refuse(source, field, f"must be a {kind.__name__}, not {type(metadata[field]).__name__}", fix)
    check_subject_evaluation(metadata, source)
    return metadata


def read_sidecar_file(sidecar: Path) -> dict[str, Any]:
    """The sidecar's JSON object, read only after its size is checked; validated.

    Raises:
        ModelError: too large, unreadable, not JSON, not an object, or a field out of range.
    """
    size = sidecar.stat().st_size
    if size > MAX_SIDECAR_BYTES:
        raise ModelError(f"The model's metadata file {sidecar.name} is {size / 2**20:.0f} MB, over the "
                         f"{MAX_SIDECAR_BYTES // 2**20} MB a real one stays under; it was not read. Restore the original file.")
    try:
        metadata = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ModelError(f"The model's metadata file {sidecar.name} is not valid JSON ({error}). Retrain or restore it.") from error
    if not isinstance(metadata, dict):
        raise ModelError(f"The model's metadata file {sidecar.name} does not hold a JSON object. Retrain or restore it.")
    return validate_sidecar(metadata, sidecar.name)


def check_archive(path: Path) -> None:
    """Refuse a `.keras` archive whose declared sizes or input shape are out of range, before extracting it.

    Reads only the zip directory and, once its declared size is checked, `config.json`.

    Raises:
        ModelError: not a zip archive, a member or the whole over its size cap, or an input over MAX_INPUT_SIZE.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            total = sum(member.file_size for member in members)
            for member in members:
                cap = MAX_ARCHIVE_MEMBER_BYTES.get(member.filename)
                if cap is not None and member.file_size > cap:
                    raise ModelError(f"{path.name}: its {member.filename} declares {member.file_size / 2**20:.0f} MB, "
                                     f"over the {cap // 2**20} MB a real model needs; the file was not loaded.")
            if total > MAX_ARCHIVE_BYTES:
                raise ModelError(f"{path.name} declares {total / 2**30:.1f} GB once unpacked, over the "
                                 f"{MAX_ARCHIVE_BYTES // 2**30} GB limit; the file was not loaded.")
            config = archive.read("config.json") if "config.json" in archive.namelist() else b"{}"
    except zipfile.BadZipFile as error:
        raise ModelError(f"{path.name} is not a Keras v3 archive (not a zip file). Save models with model.save(...keras).") from error
    try:
        model_config = json.loads(config or b"{}")
    except ValueError as error:
        raise ModelError(f"{path.name}: its config.json is not valid JSON; the file is corrupt.") from error
    _check_input_side(model_config, path.name)
    _check_layers(model_config, path.name)


def _check_layers(config: Any, name: str) -> None:
    """Refuse a model whose layer list names a class outside ALLOWED_LAYERS (a Lambda, a custom class, markup)."""
    layers = (config.get("config") or {}).get("layers") if isinstance(config, dict) else None
    for layer in layers if isinstance(layers, list) else []:
        class_name = layer.get("class_name") if isinstance(layer, dict) else None
        if class_name not in ALLOWED_LAYERS:
            raise ModelError(f"{name}: the file uses a layer this app does not allow: {str(class_name)[:200]}. "
                             "Use a classifier trained with `python train.py`.")


def _check_input_side(config: Any, name: str) -> None:
    """Refuse an input layer whose declared height or width exceeds MAX_INPUT_SIZE."""
    stack = [config]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            shape = node.get("batch_shape") or node.get("batch_input_shape")
            if isinstance(shape, list) and any(_is_number(side) and side > MAX_INPUT_SIZE for side in shape[1:3]):
                raise ModelError(f"{name} takes {shape[1]} x {shape[2]} pixel inputs, over the {MAX_INPUT_SIZE} px "
                                 "this app accepts; it was not built.")
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
