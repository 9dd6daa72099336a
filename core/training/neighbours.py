"""The index of known cells and the OOD threshold, written beside a model after training.

`<model stem>.index.npz` holds the pooled features of every training and held-out cell (see
`core.model.embedding`, whose two sides are "train" and "validation": the held-out subjects, tuning
and calibration alike); the sidecar's "embedding_index" entry names it and records the OOD
score's reference and threshold (`core.training.ood_fit`: the training cells' stain and texture
statistics, and the 95th percentile of the calibration subjects' cells' scores), and, for reference,
the older score's threshold ("neighbour_ood_threshold": the same percentile of their distances to
their 10th nearest training cell). Only the calibration subjects set them, like every other
threshold of the model: the tuning subjects chose the epoch. `train` calls `attach_index` after saving; `python -m core.cli.index`
calls it for models trained before the index existed (their one held-out side sets the threshold).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import keras
import numpy as np

from core.config import INDEX_SUFFIX, beside_model
from core.data.index import ImageRecord
from core.model.embedding import NEIGHBOURS, OOD_K, OOD_PERCENTILE, TRAIN_SIDE, VALIDATION_SIDE, EmbeddingIndex, ood_threshold
from core.model.network import POOL_LAYER, with_features
from core.model.store import write_sidecar
from core.imaging import stain
from core.training.ood_fit import fit_ood
from core.training.stain_fit import fit_stain_reference

SIDECAR_KEY = "embedding_index"
THRESHOLD_FROM = "calibration subjects"  # Whose cells set the OOD threshold, as the sidecar says it.
OLDER_THRESHOLD_FROM = "held-out subjects"  # A split CSV from before the roles: its one held-out side.


def record_features(model: keras.Model, records: Sequence[ImageRecord], image_size: int, batch_size: int) -> np.ndarray:
    """(N, D) float32 pooled features of records, through the training pipeline without augmentation."""
    from core.training.pipeline import make_dataset

    if not records:
        return np.zeros((0, int(model.get_layer(POOL_LAYER).output.shape[-1])), np.float32)
    dataset = make_dataset([str(r.path) for r in records], None, image_size, batch_size)
    pooled, _ = with_features(model).predict(dataset, verbose=0)
    return np.asarray(pooled, np.float32)


def threshold_rows(held_out: Sequence[ImageRecord], threshold_records: Sequence[ImageRecord] | None) -> np.ndarray:
    """Row numbers within `held_out` of the records that set the OOD threshold (all of them for None)."""
    if threshold_records is None:
        return np.arange(len(held_out))
    position = {str(record.path): row for row, record in enumerate(held_out)}
    missing = [str(record.path) for record in threshold_records if str(record.path) not in position]
    if missing:
        raise ValueError(f"{len(missing)} OOD threshold record(s) are not held-out records (first: {missing[0]}); "
                         "pass the calibration records among records['validation'].")
    return np.array([position[str(record.path)] for record in threshold_records], dtype=int)


def index_path(model_path: Path) -> Path:
    """models/leukemia_resnet50.keras -> models/leukemia_resnet50.index.npz."""
    return beside_model(model_path, INDEX_SUFFIX)


def build_index(features: dict[str, np.ndarray], records: dict[str, Sequence[ImageRecord]], root: Path) -> EmbeddingIndex:
    """One index over the train and validation cells; files are stored relative to the dataset root."""
    rows = [(record, side) for side in (TRAIN_SIDE, VALIDATION_SIDE) for record in records[side]]
    return EmbeddingIndex.build(
        np.concatenate([features[TRAIN_SIDE], features[VALIDATION_SIDE]]),
        [Path(record.path).relative_to(root).as_posix() for record, _ in rows],
        [record.label or "" for record, _ in rows], [record.subject or "" for record, _ in rows], [side for _, side in rows])


def stain_entry(train: Sequence[ImageRecord]) -> dict[str, Any]:
    """{"stain_reference": the training cells' stain} (`core.training.stain_fit`), or {} when none can be read."""
    try:
        return {stain.SIDECAR_KEY: fit_stain_reference(train)}
    except ValueError:
        return {}


def attach_index(model: keras.Model, model_path: Path, metadata: dict[str, Any], records: dict[str, Sequence[ImageRecord]],
                 root: Path, batch_size: int = 32, threshold_records: Sequence[ImageRecord] | None = None) -> dict[str, Any]:
    """Write the index beside the model, its entry and the training cells' stain into the sidecar (atomically).

    Returns the new metadata.

    Args:
        model: the saved model (its file is not touched, so the sidecar's SHA-256 stays valid).
        metadata: the model's sidecar as saved; `image_size` is read from it.
        records: "train" and "validation" (held-out: tuning and calibration) records, as the run split them.
        root: the dataset root the records' paths are relative to.
        threshold_records: the held-out records whose OOD scores set the threshold (the calibration
            subjects' cells; each must be among records["validation"]); None: every held-out record (older models).

    Raises:
        ValueError: a threshold record is not a held-out record.
    """
    image_size = int(metadata["image_size"])
    features = {side: record_features(model, records[side], image_size, batch_size) for side in (TRAIN_SIDE, VALIDATION_SIDE)}
    index = build_index(features, records, Path(root))
    target = index_path(model_path)
    index.save(target)
    held_out = features[VALIDATION_SIDE]
    chosen = threshold_rows(records[VALIDATION_SIDE], threshold_records)
    neighbour_threshold = ood_threshold(index, held_out[chosen], OOD_K, OOD_PERCENTILE)
    try:
        ood_fields = fit_ood(records[TRAIN_SIDE], [records[VALIDATION_SIDE][row] for row in chosen], image_size)
    except ValueError as error:  # too few cells to fit the statistics (a dry run): the k-NN score, and why
        ood_fields = {"ood_threshold": neighbour_threshold, "ood_percentile": OOD_PERCENTILE,
                      "ood_threshold_cells": int(len(chosen)), "ood_statistics_missing": str(error)}
    entry = {"file": target.name, "cells": len(index), "dimensions": index.dimensions, "ood_k": OOD_K,
             "neighbour_ood_threshold": neighbour_threshold,
             "ood_threshold_from": THRESHOLD_FROM if threshold_records is not None else OLDER_THRESHOLD_FROM,
             "neighbours": NEIGHBOURS, "train_cells": int(len(index.train_rows)), "validation_cells": int(len(held_out)),
             **ood_fields}
    metadata = {**metadata, SIDECAR_KEY: entry, **stain_entry(records[TRAIN_SIDE])}
    write_sidecar(Path(model_path), metadata)
    return metadata
