"""Is a heatmap faithful to the model? Deletion and insertion curves, and how much heat lies on the cell.

Deletion removes the cell's pixels hottest first and follows P(class); insertion starts from
the cell with every pixel removed and reveals them hottest first (Petsiuk et al. 2018, RISE,
arXiv:1806.07421). A faithful map makes P fall fast on deletion (small area under the curve)
and rise fast on insertion (large area). Removed pixels take the value of a blurred copy of
the image, not black, so the inputs stay close to what the model was trained on (Rong et al.
2022, ROAD, arXiv:2202.00449). Only pixels inside the cell mask are ranked and removed; the
background is left as it is. Every step of both curves goes through the model in one batch.

Quantus and Xplique implement these metrics, but neither is installable here and both fill
with a constant baseline, rank the whole image and call the model once per step; the
arithmetic is a few lines, checked against a hand-computed example in the tests.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

from core.data.labels import DISPLAY_NAMES
from core.imaging.preprocess import PreprocessResult, model_input_mask

if TYPE_CHECKING:  # The Explainer brings TensorFlow; the curves themselves need only numpy.
    from core.explain.explainer import Explainer

STEPS = 16  # each step removes or reveals 1/16 of the cell's pixels
BLUR_SIGMA = 1 / 16  # of the image side: removed pixels take the blurred image's value
SENTENCE_FRACTION = 0.25  # the sentence quotes P after this share of the hottest pixels
MOSTLY_OUTSIDE = 0.5  # below this share of heat on the cell, a map "points mostly outside the cell"
FLAT = 0.02  # curves that move less than this tell no ranking of pixels from another

# (N, S, S, 3) uint8 RGB -> (N,) P(target); e.g. `functools.partial(Explainer.probabilities, target=...)`.
ProbabilityFunction = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Faithfulness:
    """Deletion and insertion curves of one heatmap for one target class.

    Attributes:
        target: "all" or "hem", the class whose probability the curves follow.
        fractions: (STEPS + 1,) share of the cell's pixels removed (deletion) or revealed (insertion), 0 to 1.
        deletion: (STEPS + 1,) P(target) after removing that share, hottest first; deletion[0] is the image's own P.
        insertion: (STEPS + 1,) P(target) with only that share revealed; insertion[-1] is the image's own P.
        heat_inside: share of the map's heat on the cell mask, in [0, 1]; NaN without a mask or for a flat map.
    """

    target: str
    fractions: np.ndarray
    deletion: np.ndarray
    insertion: np.ndarray
    heat_inside: float

    @property
    def deletion_area(self) -> float:
        """Area under the deletion curve, in [0, 1]: lower is more faithful."""
        return float(np.trapezoid(self.deletion, self.fractions))

    @property
    def insertion_area(self) -> float:
        """Area under the insertion curve, in [0, 1]: higher is more faithful."""
        return float(np.trapezoid(self.insertion, self.fractions))

    @property
    def score(self) -> float:
        """Insertion area minus deletion area, in [-1, 1]: higher is more faithful, 0 is no better than chance order."""
        return self.insertion_area - self.deletion_area

    @property
    def flat(self) -> bool:
        """Whether neither curve moves: P does not depend on the cell's pixels, whatever their order."""
        both = np.concatenate([self.deletion, self.insertion])
        return float(both.max() - both.min()) < FLAT

    def sentence(self) -> str:
        """The curves in plain words, e.g. "Removing the hottest 25% of the cell's pixels drops P(ALL) from 0.91 to 0.40; ..."."""
        step = int(round(SENTENCE_FRACTION * (len(self.fractions) - 1)))
        share, name = f"{self.fractions[step]:.0%}", f"P({DISPLAY_NAMES[self.target]})"
        before, after, revealed = float(self.deletion[0]), float(self.deletion[step]), float(self.insertion[step])
        verb = "drops" if after < before - 0.005 else "raises" if after > before + 0.005 else "leaves"
        change = f"{verb} {name} from {before:.2f} to {after:.2f}" if verb != "leaves" else f"leaves {name} at {before:.2f}"
        flat = (f" Neither curve moves: {name} stays near {before:.2f} whichever pixels are removed, so on this image "
                "the score cannot tell one map from another.") if self.flat else ""
        return (f"Removing the hottest {share} of the cell's pixels {change}; revealing only them (the rest of the cell "
                f"blurred) gives {revealed:.2f}. Deletion area {self.deletion_area:.2f} (lower is more faithful), "
                f"insertion area {self.insertion_area:.2f} (higher is more faithful).{flat}")

    def outside_warning(self) -> str | None:
        """A warning when most of the heat lies off the cell, else None."""
        if np.isnan(self.heat_inside) or self.heat_inside >= MOSTLY_OUTSIDE:
            return None
        return (f"This map points mostly outside the cell: only {self.heat_inside:.0%} of its heat lies on the cell. "
                "It says little about the cell itself.")


def heat_inside(heatmap: np.ndarray, mask: np.ndarray | None) -> float:
    """Share of the (S, S) heatmap's total heat inside the (S, S) boolean cell mask; NaN without a mask or heat."""
    total = float(np.sum(heatmap))
    if mask is None or total <= 0.0 or not np.any(mask):
        return float("nan")
    return float(np.sum(heatmap[np.asarray(mask, bool)]) / total)


def blurred(image_rgb: np.ndarray) -> np.ndarray:
    """(S, S, 3) uint8 RGB -> the same image under a Gaussian blur of sigma BLUR_SIGMA x S."""
    return cv2.GaussianBlur(image_rgb, (0, 0), sigmaX=BLUR_SIGMA * image_rgb.shape[0], borderType=cv2.BORDER_REFLECT)


def curve_inputs(image_rgb: np.ndarray, heatmap: np.ndarray, mask: np.ndarray | None, fill_rgb: np.ndarray,
                 steps: int = STEPS) -> np.ndarray:
    """The (2 * steps, S, S, 3) uint8 RGB batch behind both curves.

    Rows 0..steps are deletion after removing k/steps of the cell's pixels (row 0 the image,
    row `steps` the cell fully removed); rows steps+1.. are insertion with k = 1..steps-1
    revealed (insertion's two ends are deletion's, reversed). Ties in heat keep raster order.
    """
    cell = np.flatnonzero(np.ones(heatmap.shape, bool) if mask is None or not np.any(mask) else np.asarray(mask, bool))
    order = cell[np.argsort(-heatmap.ravel()[cell], kind="stable")]  # cell pixels, hottest first
    counts = np.round(np.arange(steps + 1) / steps * len(order)).astype(int)
    image_flat, fill_flat = image_rgb.reshape(-1, 3), fill_rgb.reshape(-1, 3)
    batch = np.repeat(image_flat[None], 2 * steps, axis=0)
    for k, count in enumerate(counts):
        batch[k, order[:count]] = fill_flat[order[:count]]  # deletion: the hottest `count` removed
    removed_all = batch[steps].copy()
    for k in range(1, steps):
        batch[steps + k] = removed_all
        batch[steps + k, order[: counts[k]]] = image_flat[order[: counts[k]]]  # insertion: only they revealed
    return batch.reshape(2 * steps, *image_rgb.shape)


def faithfulness(probability: ProbabilityFunction, image_rgb: np.ndarray, heatmap: np.ndarray,
                 mask: np.ndarray | None = None, target: str = "all", steps: int = STEPS,
                 fill_rgb: np.ndarray | None = None, own_probability: float | None = None) -> Faithfulness:
    """Deletion and insertion curves of `heatmap` for the class `target`, from one call of `probability`.

    Args:
        probability: (N, S, S, 3) uint8 RGB -> (N,) P(target), called once with 2 * steps images.
        image_rgb: (S, S, 3) uint8 RGB, the model input the heatmap explains.
        heatmap: (S, S) float in [0, 1].
        mask: (S, S) bool cell mask on the model input (`core.imaging.preprocess.model_input_mask`);
            None ranks every pixel.
        target: "all" or "hem", the class `probability` scores.
        steps: how many equal shares of the cell's pixels the curves move through.
        fill_rgb: what removed pixels become; the blurred image by default.
        own_probability: P(target) of `image_rgb` itself when the caller has it; then `probability`
            gets the 2 * steps - 1 other images only.

    Raises:
        ValueError: the heatmap's or mask's shape is not the image's height and width.
    """
    if np.shape(heatmap) != image_rgb.shape[:2] or (mask is not None and np.shape(mask) != image_rgb.shape[:2]):
        raise ValueError(f"The heatmap {np.shape(heatmap)} and mask must have the image's height and width "
                         f"{image_rgb.shape[:2]}; pass the model input's heatmap, not the original image's.")
    fill_rgb = blurred(image_rgb) if fill_rgb is None else fill_rgb
    batch = curve_inputs(image_rgb, heatmap, mask, fill_rgb, steps)
    if own_probability is None:
        scores = np.asarray(probability(batch), np.float32).reshape(-1)
    else:  # Row 0 is the image itself.
        scores = np.concatenate([[np.float32(own_probability)], np.asarray(probability(batch[1:]), np.float32).reshape(-1)])
    deletion = scores[: steps + 1]
    insertion = np.concatenate([[scores[steps]], scores[steps + 1 :], [scores[0]]])
    fractions = np.linspace(0.0, 1.0, steps + 1, dtype=np.float32)
    return Faithfulness(target, fractions, deletion, insertion, heat_inside(heatmap, mask))


def heatmap_faithfulness(explainer: Explainer, stages: PreprocessResult, heatmap: np.ndarray, target: str) -> Faithfulness:
    """`faithfulness` of an Explainer's heatmap of `stages.model_input`, within the cell's mask.

    The masked copies run in the explainer's `batch_precision` (bfloat16 on a CPU that computes it
    natively; `core.model.fast_batches`); the curves' end at the image itself stays float32, so they
    start from the P the answer shows.
    """
    mask = model_input_mask(stages, explainer.image_size)
    if explainer.batch_precision != "bfloat16":
        return faithfulness(lambda batch: explainer.probabilities(batch, target), stages.model_input, heatmap, mask, target)
    own_all = explainer.probability_all(stages.model_input)  # Known from the pass that made the heatmap, mostly.
    own = own_all if target == "all" else 1.0 - own_all
    return faithfulness(lambda batch: explainer.probabilities(batch, target, fast=True), stages.model_input, heatmap,
                        mask, target, own_probability=own)
