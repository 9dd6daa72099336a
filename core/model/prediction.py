"""One image's answer at the model's threshold, without TensorFlow: the in-process and the remote classifier both make it."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.data import labels


@dataclass(frozen=True)
class Prediction:
    """The answer for one image.

    Attributes:
        label: "all" or "hem", from `probability_all >= threshold`.
        probability_all: P(all) in [0, 1] from the model's sigmoid unit.
        threshold: the decision threshold from the model card.
        tta_mean, tta_std: mean and spread of P(all) over the 8 flips/rotations, or None.
    """

    label: str
    probability_all: float
    threshold: float
    tta_mean: float | None = None
    tta_std: float | None = None

    @property
    def confidence(self) -> float:
        """Probability of the answered class."""
        return self.probability_all if self.label == labels.POSITIVE_LABEL else 1.0 - self.probability_all


def prediction_at(probability_all: float, threshold: float, tta: np.ndarray | None = None) -> Prediction:
    """P(all) (and the (8,) P(all) of the test-time views, or None) -> the Prediction at `threshold`."""
    label = labels.label_for(probability_all, threshold)
    if tta is None:
        return Prediction(label, float(probability_all), threshold)
    return Prediction(label, float(probability_all), threshold, float(tta.mean()), float(tta.std()))


class AnswersAtThreshold:
    """What a classifier (in process or through the inference service) reads from its `loaded` model:
    the threshold, the input side, and the Prediction a P(all) gives at that threshold.

    Mixed into classes with a `loaded` attribute (`core.model.store.LoadedModel` or the service's `ServedModel`).
    """

    @property
    def threshold(self) -> float:
        return self.loaded.threshold

    @property
    def image_size(self) -> int:
        return self.loaded.image_size

    def decide(self, probability_all: float, tta: np.ndarray | None = None) -> Prediction:
        """Turn P(all) (and optional TTA probabilities) into a Prediction at the model's threshold."""
        return prediction_at(probability_all, self.threshold, tta)
