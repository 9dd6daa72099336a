"""The out-of-distribution (OOD) score: how far a cell's stain and texture lie from the training cells'.

A cell's score is its class-conditional Mahalanobis distance with a tied covariance (Lee et al.
2018, "A simple unified framework for detecting out-of-distribution samples and adversarial
attacks"), squared and the smallest over the two classes, computed on its low-level statistics
(`core.imaging.statistics.cell_statistics`: Lab colour and texture over the cell mask) rather
than on learned features. The README's OOD study compares it with k-NN distances on pooled
features (Sun et al. 2022), Mahalanobis on ResNet50's stages and energy: under the demo model it
alone sees real C-NMC cells (AUROC 0.999; 98% flagged at 2.8% of the external set), because what
changes between labs is first the stain and the capture. The covariance is Ledoit-Wolf shrunk (16
statistics from a few hundred cells). The threshold is the 95th percentile of the calibration
subjects' scores, so about 5% of in-distribution cells are flagged by construction.

The fitted means and precision are a few hundred numbers and live in the sidecar's "embedding_index"
entry ("ood_statistics"); a model indexed before them keeps the older check, its index's k-NN distance.

>>> gaussian = StatisticsGaussian.fit(train_statistics, train_labels)  # doctest: +SKIP
>>> gaussian.scores(cell_statistics_rows) > threshold  # doctest: +SKIP
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from core.errors import ModelError
from core.imaging.statistics import STATISTICS

SCORE_NAME = "stain and texture distance"  # what sentences call the score
OOD_PERCENTILE = 95
ENTRY_KEY = "ood_statistics"  # in the sidecar's "embedding_index" entry
# Also there: {"calibration subjects": [scores], "stain_hue=10": [scores], ...}, for the model card's chart.
DISTRIBUTION_KEY, IN_DISTRIBUTION = "ood_distribution", "calibration subjects"
MAX_CLASSES = 8
# How sentences name the score, and its decimals, by whether it is this score (True) or an older index's k-NN distance.
SCORE_WORDS = {True: ("stain and texture distance to the training cells", 1), False: ("distance to the known cells", 3)}
REFER_SENTENCE = ("This cell is unlike the cells the model learned: its {what} is {score:.{digits}f}, above the model's "
                  "out-of-distribution threshold {threshold:.{digits}f} (which {share:g}% of the calibration subjects' "
                  "cells pass): refer.")


@dataclass(frozen=True, eq=False)
class StatisticsGaussian:
    """Class means (C, F) and one shared precision matrix (F, F), float64, of the training cells' statistics."""

    classes: tuple[str, ...]
    means: np.ndarray
    precision: np.ndarray

    @classmethod
    def fit(cls, statistics: np.ndarray, labels) -> StatisticsGaussian:
        """Fit on (N, F) statistics of the training cells and their N labels (at least two cells per class).

        Raises:
            ValueError: a class has fewer than two cells, or the shapes disagree.
        """
        from sklearn.covariance import LedoitWolf

        statistics, labels = np.asarray(statistics, np.float64), np.asarray([str(label) for label in labels])
        if statistics.ndim != 2 or len(statistics) != len(labels):
            raise ValueError(f"Pass (N, F) statistics and N labels; got {statistics.shape} and {len(labels)} labels.")
        classes = tuple(sorted(set(labels)))
        if not classes or min(int((labels == name).sum()) for name in classes) < 2:
            raise ValueError(f"Each class needs two training cells or more to fit the OOD score; got {sorted(labels)[:8]}.")
        means = np.stack([statistics[labels == name].mean(axis=0) for name in classes])
        centred = np.concatenate([statistics[labels == name] - mean for name, mean in zip(classes, means)])
        return cls(classes, means, LedoitWolf(assume_centered=True).fit(centred).precision_)

    def scores(self, statistics: np.ndarray) -> np.ndarray:
        """(M, F) statistics -> (M,) float64 squared distances to the nearest class mean (0: a class mean itself)."""
        statistics = np.atleast_2d(np.asarray(statistics, np.float64))
        if statistics.shape[1] != self.means.shape[1]:
            raise ValueError(f"The OOD score needs {self.means.shape[1]} statistics per cell; got {statistics.shape[1]}.")
        differences = statistics[:, None, :] - self.means[None]  # (M, C, F)
        return np.einsum("mcf,fg,mcg->mc", differences, self.precision, differences).min(axis=1)

    def to_entry(self) -> dict[str, Any]:
        """The JSON the sidecar holds: classes, means and precision as nested lists of floats."""
        return {"classes": list(self.classes), "means": self.means.tolist(), "precision": self.precision.tolist()}

    @classmethod
    def from_entry(cls, entry: Any) -> StatisticsGaussian:
        """Read `to_entry`'s JSON back, checking every shape and value.

        Raises:
            ModelError: the entry is not C class names, (C, F) finite means and an (F, F) finite precision.
        """
        try:
            classes = tuple(entry["classes"])
            means, precision = np.asarray(entry["means"], np.float64), np.asarray(entry["precision"], np.float64)
        except (KeyError, TypeError, ValueError) as error:
            raise ModelError(f"The OOD statistics of the model's index are unreadable ({error}).") from error
        width = STATISTICS
        if not (0 < len(classes) <= MAX_CLASSES and all(isinstance(name, str) for name in classes)
                and means.shape == (len(classes), width) and precision.shape == (width, width)
                and np.isfinite(means).all() and np.isfinite(precision).all()):
            raise ModelError(f"The OOD statistics of the model's index must be up to {MAX_CLASSES} class names, "
                             f"({len(classes)}, {width}) means and a ({width}, {width}) precision, all finite.")
        return cls(classes, means, precision)


def threshold_of(scores: np.ndarray, percentile: float = OOD_PERCENTILE) -> float:
    """The `percentile`-th percentile (numpy's linear rule) of the calibration cells' scores."""
    scores = np.asarray(scores, np.float64)
    if scores.size == 0:
        raise ValueError("No calibration cell to set the OOD threshold from.")
    return float(np.percentile(scores, percentile))


def refer_sentence(score: float, threshold: float, statistics: bool) -> str:
    """The sentence every surface gives a cell referred as out of distribution: its score against the threshold.

    Args:
        statistics: the score is this module's stain and texture distance; False: an older index's k-NN distance.
    """
    what, digits = SCORE_WORDS[statistics]
    return REFER_SENTENCE.format(what=what, score=score, threshold=threshold, digits=digits, share=100 - OOD_PERCENTILE)


def score_text(score: float, threshold: float | None, flagged: bool, statistics: bool) -> str:
    """"41.2 against the threshold 19.4: unlike the cells the model learned" (a report's table row)."""
    digits = SCORE_WORDS[statistics][1]
    against = "" if threshold is None else f" against the threshold {threshold:.{digits}f}"
    return f"{score:.{digits}f}{against}" + (": unlike the cells the model learned" if flagged else "")
