"""The explanation audit a model card shows: each method's faithfulness over held-out cells, beside its sanity check.

For every method and layer it averages, over a few held-out cells explained for their
predicted class, the deletion and insertion areas (`core.explain.faithfulness`), the share
of heat on the cell, and the rank correlation between the trained model's map and the map of
a copy whose top layers are re-initialised (`core.explain.sanity`). It is computed once after
training (`core.training.run`) or for an older model by `python -m core.cli.audit`, and kept
in the sidecar under SIDECAR_KEY.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from core import config
from core.explain.explainer import GRADIENT_CAMS, LAYERS, Explainer
from core.explain.faithfulness import heatmap_faithfulness
from core.explain.sanity import rank_correlation, randomized_explainer
from core.imaging.decode import load_image
from core.imaging.preprocess import PreprocessResult, preprocess_cell
from core.model.sidecar_schema import AUDIT_KEY
from core.model.store import write_sidecar

SIDECAR_KEY = AUDIT_KEY
AUDIT_CELLS = 4  # held-out cells (each costs about 2 x 11 heatmaps and 11 batches of 32 images)
NUMBERS = ("deletion_area", "insertion_area", "score", "heat_inside", "sanity_correlation")


def audit_pairs() -> list[tuple[str, str]]:
    """(method, layer) pairs audited: gradient CAMs on every layer of LAYERS, Score-CAM and SmoothGrad once."""
    pairs = [(method, layer) for method in GRADIENT_CAMS for layer in LAYERS]
    return pairs + [("scorecam", config.LAST_CONV_LAYER), ("smoothgrad", "input pixels")]


def _mean(values: Sequence[float]) -> float | None:
    """The mean of the finite values, rounded for the sidecar; None when there is none."""
    finite = [value for value in values if not math.isnan(value)]
    return round(float(np.mean(finite)), 4) + 0.0 if finite else None  # + 0.0: no "-0.00"


def audit_row(explainer: Explainer, randomized: Explainer, cells: Sequence[PreprocessResult], method: str, layer: str) -> dict[str, Any]:
    """One method and layer over `cells`: mean areas, score, heat on the cell and sanity correlation."""
    explain_layer = config.LAST_CONV_LAYER if method == "smoothgrad" else layer
    found: dict[str, list[float]] = {name: [] for name in NUMBERS}
    for stages in cells:
        target = explainer.predicted(float(explainer.probabilities(stages.model_input[None])[0]))
        heatmap = explainer.explain(stages.model_input, method, target, explain_layer)
        faithfulness = heatmap_faithfulness(explainer, stages, heatmap, target)
        random_map = randomized.explain(stages.model_input, method, target, explain_layer)
        for name, value in zip(NUMBERS, (faithfulness.deletion_area, faithfulness.insertion_area, faithfulness.score,
                                         faithfulness.heat_inside, rank_correlation(heatmap, random_map))):
            found[name].append(value)
    return {"method": method, "layer": layer, **{name: _mean(values) for name, values in found.items()}}


def audit_explanations(explainer: Explainer, cells: Sequence[PreprocessResult],
                       pairs: Sequence[tuple[str, str]] | None = None) -> dict[str, Any]:
    """The audit of `cells` (preprocessed held-out cells) as the sidecar stores it: {"cells": n, "rows": [...]}."""
    randomized = randomized_explainer(explainer)
    rows = [audit_row(explainer, randomized, cells, method, layer) for method, layer in (pairs or audit_pairs())]
    return {"cells": len(cells), "rows": rows}


def load_cells(paths: Sequence[Path], image_size: int, count: int = AUDIT_CELLS) -> list[PreprocessResult]:
    """Up to `count` cells from `paths`, spread evenly over them, decoded and preprocessed; unreadable files skipped."""
    chosen = [paths[int(position)] for position in np.linspace(0, len(paths) - 1, min(count, len(paths)))] if paths else []
    cells = []
    for path in dict.fromkeys(chosen):
        try:
            cells.append(preprocess_cell(load_image(path).image_rgb, image_size))
        except Exception:  # An unreadable or blank file is simply not audited.
            continue
    return cells


def attach_audit(explainer: Explainer, model_path: Path, metadata: dict[str, Any], paths: Sequence[Path],
                 count: int = AUDIT_CELLS, pairs: Sequence[tuple[str, str]] | None = None) -> dict[str, Any]:
    """Audit up to `count` of the held-out cells at `paths` (all `audit_pairs()` by default) into the model's sidecar."""
    cells = load_cells(paths, explainer.image_size, count)
    metadata = {**metadata, SIDECAR_KEY: audit_explanations(explainer, cells, pairs)}
    write_sidecar(Path(model_path), metadata)
    return metadata
