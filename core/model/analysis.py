"""One decoded image in, everything the app shows about it out: answer, stages, scope.

The app caches `CellAnalysis` per image content and model, so it holds plain values only
(numpy arrays, floats, strings) and pickles cheaply.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from core.imaging.preprocess import PreprocessResult, preprocess_cell
from core.imaging.scope import assess_scope

if TYPE_CHECKING:  # TensorFlow stays out of this module's import.
    from core.model.inference import Classifier, Prediction


@dataclass(frozen=True)
class CellAnalysis:
    """The answer for one image, the preprocessing stages behind it and any scope warnings.

    Attributes:
        prediction: label, P(all), threshold and the test-time-augmentation spread.
        stages: every preprocessing stage; `stages.model_input` is (S, S, 3) uint8 RGB.
        scope_reasons: why the image does not look like a C-NMC input; empty when it does.
        features: the pooled features queried against the model's index of known cells, or None.
    """

    prediction: Prediction
    stages: PreprocessResult
    scope_reasons: tuple[str, ...]
    features: np.ndarray | None = None  # (D,) float32 pooled features of the original view, when the model has an index.

    @property
    def in_scope(self) -> bool:
        return not self.scope_reasons


def analyze_cell(classifier: Classifier, image_rgb: np.ndarray, with_tta: bool = True) -> CellAnalysis:
    """Classify one (H, W, 3) uint8 RGB image and judge whether it is a fit input.

    Raises:
        PreprocessingError: the image is blank or uniform (no cell to find).
    """
    if classifier.evidence.index is None:
        prediction, stages = classifier.classify(image_rgb, with_tta=with_tta)
        return CellAnalysis(prediction, stages, tuple(assess_scope(image_rgb, stages)))
    from core.model.inference import dihedral_views  # TensorFlow is loaded already: the classifier holds it.

    stages = preprocess_cell(image_rgb, classifier.image_size)
    views = dihedral_views(stages.model_input) if with_tta else stages.model_input[None]
    features, probabilities = classifier.features_and_probabilities(views)  # One pass: answer and features.
    prediction = classifier.decide(float(probabilities[0]), probabilities if with_tta else None)
    return CellAnalysis(prediction, stages, tuple(assess_scope(image_rgb, stages)), features[0])


def analyze_preprocessed(classifier: Classifier, images_rgb: Sequence[np.ndarray],
                         stages: Sequence[PreprocessResult], batch_size: int = 32) -> list[CellAnalysis]:
    """Many cells at once, without TTA: one forward pass per batch of `batch_size` model inputs.

    Each answer equals `analyze_cell(classifier, image_rgb, with_tta=False)`'s. P(all) and the
    features do up to rounding: the batches run in `classifier.batch_precision` (bfloat16 on a CPU
    that computes it natively, with the cells near the threshold run again in float32; see
    `core.model.fast_batches`). The patient view uses this: 8 views per cell would cost 8 passes
    per cell, and the subject-level answer already averages over many cells.

    Args:
        images_rgb: N decoded (H, W, 3) uint8 RGB images (for the scope check).
        stages: their N `preprocess_cell` results; `model_input` is (S, S, 3) uint8 RGB.
    """
    if len(images_rgb) != len(stages):
        raise ValueError(f"Got {len(images_rgb)} images but {len(stages)} preprocessing results; pass one per image.")
    scopes = [tuple(assess_scope(image_rgb, stage)) for image_rgb, stage in zip(images_rgb, stages)]
    return analyze_scoped(classifier, stages, scopes, batch_size)


def analyze_scoped(classifier: Classifier, stages: Sequence[PreprocessResult], scope_reasons: Sequence[tuple[str, ...]],
                   batch_size: int = 32) -> list[CellAnalysis]:
    """`analyze_preprocessed` once each cell's scope check is done (`assess_scope`): the model's part only.

    The patient view checks the next cells' scope while the model runs on these.
    """
    if len(scope_reasons) != len(stages):
        raise ValueError(f"Got {len(scope_reasons)} scope checks but {len(stages)} preprocessing results; pass one per image.")
    if not stages:
        return []
    model_inputs = np.stack([stage.model_input for stage in stages])  # (N, S, S, 3) uint8 RGB
    features: Sequence[np.ndarray | None] = [None] * len(stages)
    if classifier.evidence.index is None:
        probabilities = classifier.probabilities(model_inputs, batch_size, fast=True)
    else:
        features, probabilities = classifier.features_and_probabilities(model_inputs, batch_size, fast=True)
    return [CellAnalysis(classifier.decide(float(probability)), stage, reasons, feature)
            for stage, reasons, probability, feature in zip(stages, scope_reasons, probabilities, features)]
