"""One decoded image in, everything the app shows about it out: answer, stages, scope.

The app caches `CellAnalysis` per image content and model, so it holds plain values only
(numpy arrays, floats, strings) and pickles cheaply.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from core.imaging.prepare import prepare_cell
from core.imaging.preprocess import PreprocessResult
from core.imaging.statistics import statistics_of

if TYPE_CHECKING:  # TensorFlow stays out of this module's import.
    from core.model.inference import Classifier
    from core.model.prediction import Prediction

# How a cell's P(all) and features were computed, least exact first (`CellAnalysis.exactness`).
FAST, BATCHED, EXACT = 0, 1, 2


@dataclass(frozen=True)
class CellAnalysis:
    """The answer for one image, the preprocessing stages behind it and any scope warnings.

    Attributes:
        prediction: label, P(all), threshold and the test-time-augmentation spread.
        stages: every preprocessing stage; `stages.model_input` is (S, S, 3) uint8 RGB.
        scope_reasons: why the image does not look like a C-NMC input; empty when it does.
        features: the pooled features queried against the model's index of known cells, or None.
        exactness: how P(all) and the features were computed (`core.model.answering`): FAST (a bfloat16
            batch), BATCHED (float32 in a batch) or EXACT (float32, the cell alone: the reference every
            decision near a boundary is taken on).
        statistics: the cell's stain and texture statistics (`core.imaging.statistics`), (16,) float64,
            when the model's OOD score uses them; they come from the model input, not the model's pass.
    """

    prediction: Prediction
    stages: PreprocessResult | None
    scope_reasons: tuple[str, ...]
    features: np.ndarray | None = None  # (D,) float32 pooled features of the original view, when the model has an index.
    exactness: int = BATCHED
    statistics: np.ndarray | None = None

    @property
    def in_scope(self) -> bool:
        return not self.scope_reasons

    def cell_statistics(self) -> np.ndarray | None:
        """`statistics`, or `statistics_of(stages)` for an analysis built without them; None with neither."""
        if self.statistics is not None or self.stages is None:
            return self.statistics
        return statistics_of(self.stages)


def analyze_cell(classifier: Classifier, image_rgb: np.ndarray, with_tta: bool = True) -> CellAnalysis:
    """Classify one (H, W, 3) uint8 RGB image and judge whether it is a fit input.

    Raises:
        PreprocessingError: the image is blank or uniform (no cell to find).
    """
    cell = prepare_cell(image_rgb, classifier.image_size)
    return analyze_views(classifier, cell.stages, cell.scope_reasons, with_tta)


def analyze_views(classifier: Classifier, stages: PreprocessResult, scope_reasons: tuple[str, ...],
                  with_tta: bool = True, statistics: np.ndarray | None = None) -> CellAnalysis:
    """One preprocessed cell through the model in float32: its 8 views in one batch with TTA, else alone.

    The answer's P(all) and the features are the original view's (row 0), from the same pass.
    Alone, they are EXACT; among the 8 views, BATCHED (`core.model.answering` runs the cell alone
    again where that could change its answer). `statistics`: the cell's `statistics_of(stages)` when worked
    out already (`core.imaging.prepare.with_statistics`).
    """
    from core.model.inference import dihedral_views  # TensorFlow is loaded already: the classifier holds it.

    views = dihedral_views(stages.model_input) if with_tta else stages.model_input[None]
    features, probabilities = classifier.values(views)  # One pass: answer and, with an index, features.
    prediction = classifier.decide(float(probabilities[0]), probabilities if with_tta else None)
    return CellAnalysis(prediction, stages, scope_reasons, None if features is None else features[0],
                        BATCHED if with_tta else EXACT, statistics_for(classifier, stages, statistics))


def statistics_for(classifier: Classifier, stages: PreprocessResult, known: np.ndarray | None = None) -> np.ndarray | None:
    """The cell's `statistics_of` where the model's OOD score reads them (its index has the statistics), else None.

    `known`: the same statistics worked out already (`core.imaging.prepare.with_statistics`), used as they are.
    """
    if classifier.evidence.ood_statistics is None:
        return None
    return statistics_of(stages) if known is None else known


def analyze_scoped(classifier: Classifier, stages: Sequence[PreprocessResult], scope_reasons: Sequence[tuple[str, ...]],
                   batch_size: int = 32, fast: bool = True,
                   statistics: Sequence[np.ndarray | None] | None = None) -> list[CellAnalysis]:
    """Many prepared cells at once (`core.imaging.prepare`), without TTA: one forward pass per batch of `batch_size`.

    P(all) and the features equal `analyze_cell(classifier, image_rgb, with_tta=False)`'s up to rounding;
    the answers are equal too once `core.model.answering.settle` has run again the cells near a decision
    boundary. The patient view prepares the next cells while the model runs on these. `fast`: the
    batches run in `classifier.batch_precision` (FAST where that is bfloat16, `core.model.fast_batches`);
    otherwise float32 (BATCHED). `statistics`: each cell's `statistics_of` when worked out already, or None.
    """
    if len(scope_reasons) != len(stages):
        raise ValueError(f"Got {len(scope_reasons)} scope checks but {len(stages)} preprocessing results; pass one per image.")
    if not stages:
        return []
    model_inputs = np.stack([stage.model_input for stage in stages])  # (N, S, S, 3) uint8 RGB
    features, probabilities = classifier.values(model_inputs, batch_size, fast=fast)
    exactness = FAST if fast and classifier.batch_precision == "bfloat16" else BATCHED  # read after the pass: it may fall back
    rows: Sequence[np.ndarray | None] = [None] * len(stages) if features is None else list(features)
    known = [None] * len(stages) if statistics is None else statistics
    return [CellAnalysis(classifier.decide(float(probability)), stage, reasons, feature, exactness,
                         statistics_for(classifier, stage, given))
            for stage, reasons, probability, feature, given in zip(stages, scope_reasons, probabilities, rows, known)]
