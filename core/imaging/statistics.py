"""Low-level statistics of the cell the model sees: its stain colour and its texture, over the cell mask.

The out-of-distribution score (`core.model.ood`) compares these with the training cells'. They
see what changes between labs and cameras before any learned feature does: another stain shifts
the colour, a blurred or compressed capture loses fine texture (see the README's OOD study).
Computed on the model input (the square crop after `preprocess_cell`, S x S) so that a cell's
statistics do not depend on how the model's pass was computed (float32 or bfloat16, alone or in a batch).

>>> stages = preprocess_cell(image_rgb, 96)  # doctest: +SKIP
>>> cell_statistics(stages.model_input, model_input_mask(stages, 96)).shape  # doctest: +SKIP
(16,)
"""
from __future__ import annotations

import cv2
import numpy as np

from core.imaging.preprocess import PreprocessResult, model_input_mask

STATISTICS = 16  # length of `cell_statistics`' vector
DETAIL_BLUR_SIGMA = 2.0  # pixels of the model input: what a blur of this size removes counts as fine detail


def cell_statistics(model_input_rgb: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """(STATISTICS,) float64 statistics of one (S, S, 3) uint8 RGB model input over its (S, S) bool cell mask.

    In order: the cell's CIE Lab mean (3) and spread (3), its 10th and 90th Lab percentiles (6), the
    background's mean lightness (1), and three texture measures of the cell's lightness, each log1p:
    the Laplacian's spread, the mean gradient magnitude, and the spread of what a 2-pixel blur removes.
    Without a mask (no separate cell was found) the whole input counts as the cell.

    Raises:
        ValueError: the input is not (S, S, 3) uint8 or the mask is not its (S, S) shape.
    """
    if model_input_rgb.ndim != 3 or model_input_rgb.shape[2] != 3 or model_input_rgb.dtype != np.uint8:
        raise ValueError(f"Cell statistics need an (S, S, 3) uint8 RGB model input; got {model_input_rgb.dtype} "
                         f"{model_input_rgb.shape}. Pass `preprocess_cell(...).model_input`.")
    if mask is not None and mask.shape != model_input_rgb.shape[:2]:
        raise ValueError(f"The mask is {mask.shape}; the model input is {model_input_rgb.shape[:2]}. Pass `model_input_mask`.")
    lab = cv2.cvtColor(model_input_rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    inside = np.ones(model_input_rgb.shape[:2], bool) if mask is None or not mask.any() else mask.astype(bool)
    cell, lightness = lab[inside], lab[..., 0]
    laplacian = cv2.Laplacian(lightness, cv2.CV_32F)[inside]
    gradient = np.hypot(cv2.Sobel(lightness, cv2.CV_32F, 1, 0), cv2.Sobel(lightness, cv2.CV_32F, 0, 1))[inside]
    detail = (lightness - cv2.GaussianBlur(lightness, (0, 0), DETAIL_BLUR_SIGMA))[inside]
    background = float(lightness[~inside].mean()) if (~inside).any() else 0.0
    texture = np.log1p([laplacian.std(), gradient.mean(), detail.std()])
    return np.concatenate([cell.mean(axis=0), cell.std(axis=0), np.percentile(cell, [10, 90], axis=0).reshape(-1),
                           [background], texture]).astype(np.float64)


def statistics_of(stages: PreprocessResult) -> np.ndarray:
    """`cell_statistics` of a preprocessed cell: its model input over its mask in the model input's frame."""
    size = stages.model_input.shape[0]
    return cell_statistics(stages.model_input, model_input_mask(stages, size))
