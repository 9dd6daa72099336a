"""The OOD score's reference, threshold and chart data, fitted beside a model with its index of known cells.

The training cells' stain and texture statistics (`core.imaging.statistics`) fit the class
means and the shared covariance of `core.model.ood.StatisticsGaussian`; the calibration
subjects' scores set the threshold (their 95th percentile: 5% of them are flagged); and the scores
of the calibration cells shifted by stain, blur, JPEG and scale (`core.imaging.shifts`, one middle
strength each) are kept for the model card's chart beside the calibration cells' own. Every cell is
decoded by `core.imaging.decode.load_image` and preprocessed by `preprocess_cell`, as in the app.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from core.data.index import ImageRecord
from core.errors import LeukemiaAppError
from core.imaging import shifts
from core.imaging.decode import load_image
from core.imaging.preprocess import preprocess_cell
from core.imaging.statistics import statistics_of
from core.model.ood import (
    DISTRIBUTION_KEY, ENTRY_KEY, IN_DISTRIBUTION, OOD_PERCENTILE, SCORE_NAME, StatisticsGaussian, threshold_of,
)

MAX_SHIFTED_CELLS = 200  # calibration cells shifted for the chart (the first ones): 4 x 200 decodes at most
SCORE_DIGITS = 4  # decimals kept in the sidecar's chart data


def statistics_rows(records: Sequence[ImageRecord], image_size: int,
                    shift: Callable[[np.ndarray], np.ndarray] | None = None) -> tuple[np.ndarray, list[int]]:
    """((M, 16) statistics of the records preprocessing accepts, their M positions in `records`), optionally shifted first."""
    rows, kept = [], []
    for position, record in enumerate(records):
        try:
            image_rgb = load_image(record.path).image_rgb
            rows.append(statistics_of(preprocess_cell(image_rgb if shift is None else shift(image_rgb), image_size)))
        except LeukemiaAppError:
            continue
        kept.append(position)
    return (np.stack(rows) if rows else np.zeros((0, 16))), kept


def shifted_scores(gaussian: StatisticsGaussian, records: Sequence[ImageRecord], image_size: int) -> dict[str, list[float]]:
    """{"stain_hue=10": [score per shifted calibration cell], ...} at `shifts.CARD_STRENGTHS`."""
    chosen = list(records)[:MAX_SHIFTED_CELLS]
    found = {}
    for name, strength in shifts.CARD_STRENGTHS.items():
        perturb = shifts.SHIFTS[name][0]
        rows, _ = statistics_rows(chosen, image_size, lambda image_rgb, p=perturb, s=strength: p(image_rgb, s))
        found[shifts.shift_name(name, strength)] = rounded(gaussian.scores(rows)) if len(rows) else []
    return found


def rounded(scores: np.ndarray) -> list[float]:
    return [round(float(score), SCORE_DIGITS) for score in scores]


def fit_ood(train: Sequence[ImageRecord], threshold_records: Sequence[ImageRecord], image_size: int) -> dict[str, Any]:
    """The sidecar's OOD fields: the score's name, its Gaussian, threshold, percentile, and the chart data.

    Raises:
        ValueError: a class has fewer than two training cells preprocessing accepts, or no threshold cell is.
    """
    statistics, kept = statistics_rows(train, image_size)
    gaussian = StatisticsGaussian.fit(statistics, [train[position].label or "" for position in kept])
    calibration, _ = statistics_rows(threshold_records, image_size)
    scores = gaussian.scores(calibration) if len(calibration) else np.zeros(0)
    return {"ood_score": SCORE_NAME, ENTRY_KEY: gaussian.to_entry(), "ood_threshold": threshold_of(scores, OOD_PERCENTILE),
            "ood_percentile": OOD_PERCENTILE, "ood_threshold_cells": int(len(scores)),
            DISTRIBUTION_KEY: {IN_DISTRIBUTION: rounded(scores), **shifted_scores(gaussian, threshold_records, image_size)}}
