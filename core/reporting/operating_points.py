"""The model card's threshold slider, precomputed: rates and confusion counts on a fine grid of thresholds.

Built once per model and set (cached by `ui.cache.threshold_curves`), so moving the slider is an
index into arrays instead of a pass over the stored curve and a rerun of the whole page.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from core.data.labels import THRESHOLD_DIGITS
from core.reporting.model_card import class_totals, curve_arrays

GRID_STEP = 10.0 ** -THRESHOLD_DIGITS  # One slider step: thresholds are read with three decimals.


@dataclass(frozen=True)
class ThresholdCurves:
    """Sensitivity and specificity at every threshold of a grid over [0, 1], for one evaluated set.

    Attributes:
        thresholds: (G,) float64, 0 to 1 in steps of GRID_STEP.
        sensitivity, specificity: (G,) float64 in [0, 1], interpolated between the stored ROC points.
        totals: (healthy, leukemic) image counts of the set, or None when the sidecar lacks them.
        model_threshold: the model's own threshold; model_matrix: the exact [[tn, fp], [fn, tp]] there, or None.
    """

    thresholds: np.ndarray
    sensitivity: np.ndarray
    specificity: np.ndarray
    totals: tuple[int, int] | None
    model_threshold: float
    model_matrix: list[list[int]] | None

    def index(self, threshold: float) -> int:
        return int(np.clip(round(float(threshold) / GRID_STEP), 0, len(self.thresholds) - 1))

    def rates(self, threshold: float) -> tuple[float, float]:
        """(sensitivity, specificity) at the grid point nearest `threshold`."""
        at = self.index(threshold)
        return float(self.sensitivity[at]), float(self.specificity[at])

    def is_model_threshold(self, threshold: float) -> bool:
        return self.index(threshold) == self.index(self.model_threshold)

    def confusion(self, threshold: float) -> list[list[int]] | None:
        """[[tn, fp], [fn, tp]] at `threshold`: the stored, exact matrix at the model's own threshold,
        elsewhere counts from the interpolated rates (approximate); None without class totals."""
        if self.is_model_threshold(threshold) and self.model_matrix:
            return self.model_matrix
        if self.totals is None:
            return None
        healthy, leukemic = self.totals
        sensitivity, specificity = self.rates(threshold)
        tp, tn = round(sensitivity * leukemic), round(specificity * healthy)
        return [[tn, healthy - tn], [leukemic - tp, tp]]


def threshold_curves(evaluation: dict[str, Any], model_threshold: float) -> ThresholdCurves | None:
    """The grid for one evaluated set of a sidecar, or None when it stores no usable ROC curve."""
    try:
        stored_thresholds, tpr, fpr = curve_arrays(evaluation.get("roc_curve") or {})
    except ValueError:
        return None
    grid = np.round(np.arange(0, round(1 / GRID_STEP) + 1) * GRID_STEP, THRESHOLD_DIGITS)
    sensitivity = np.interp(grid, stored_thresholds, tpr)
    specificity = 1.0 - np.interp(grid, stored_thresholds, fpr)
    # The stored matrix was counted at the threshold the set was evaluated at (the model's, in a sidecar we write).
    evaluated_at = evaluation.get("threshold")
    evaluated_at = float(model_threshold if evaluated_at is None else evaluated_at)
    totals = class_totals(evaluation)  # None also when the stored matrix is malformed.
    return ThresholdCurves(grid, sensitivity, specificity, totals, evaluated_at, evaluation["confusion_matrix"] if totals else None)
