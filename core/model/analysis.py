"""One decoded image in, everything the app shows about it out: answer, stages, scope.

The app caches `CellAnalysis` per image content and model, so it holds plain values only
(numpy arrays, floats, strings) and pickles cheaply.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from core.imaging.preprocess import PreprocessResult
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
    """

    prediction: Prediction
    stages: PreprocessResult
    scope_reasons: tuple[str, ...]

    @property
    def in_scope(self) -> bool:
        return not self.scope_reasons


def analyze_cell(classifier: Classifier, image_rgb: np.ndarray, with_tta: bool = True) -> CellAnalysis:
    """Classify one (H, W, 3) uint8 RGB image and judge whether it is a fit input.

    Raises:
        PreprocessingError: the image is blank or uniform (no cell to find).
    """
    prediction, stages = classifier.classify(image_rgb, with_tta=with_tta)
    return CellAnalysis(prediction, stages, tuple(assess_scope(image_rgb, stages)))
