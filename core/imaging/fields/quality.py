"""Is a smear field fit for finding cells? Over-exposed and blurred fields are refused with a reason.

Both measures are taken on the field at the working scale (its red cells `WORK_RED_CELL_PX` across,
`core.imaging.fields.finder`), so a photo's size or magnification does not change them. Unstained fields
are refused by `core.imaging.fields.ruler.stained_objects`.
"""
from __future__ import annotations

import cv2
import numpy as np

from core.errors import PreprocessingError

# A pixel is clipped when its grey level is at least this (of 255).
CLIPPED_LEVEL = 250
# Refuse a field when more than this share of it is clipped. The 200 BCCD fields: at most 0.009%.
MAX_CLIPPED_FRACTION = 0.25
# Sharpness: the steepest edges' grey-level slope (99th percentile of the gradient magnitude, grey
# levels per px) over the field's contrast (95th minus 5th percentile of grey), at the working scale.
# A step edge blurred by a Gaussian of sigma px has slope contrast / (sigma * 2.5). Measured on the 200
# BCCD fields: 0.14 to 0.33 (median 0.25); the 100 even ones blurred by sigma 0.05 D (2 px): at most
# 0.20, by 0.1 D (4 px): at most 0.154. A synthetic field: 0.36, blurred by 0.1 / 0.15 / 0.2 / 0.3 D:
# 0.13 / 0.105 / 0.103 / 0.093 (heavy blur also flattens the contrast, so the measure levels off near
# 0.09). Under MIN_SHARPNESS a field is refused as out of focus: its cells' edges are gone.
MIN_SHARPNESS = 0.11


def sharpness(work_rgb: np.ndarray) -> float:
    """(h, w, 3) uint8 RGB at the working scale -> the steepest edges' slope over the contrast, in 1/px, >= 0."""
    grey = cv2.cvtColor(work_rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    # Sobel's 3x3 kernels weigh the central difference by 8 in all; /8 gives grey levels per px.
    slope = np.hypot(cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3)) / 8
    low, high = np.percentile(grey, [5, 95])
    return float(np.percentile(slope, 99) / max(1.0, float(high - low)))


def clipped_fraction(image_rgb: np.ndarray) -> float:
    """(H, W, 3) uint8 RGB -> the share of pixels whose grey level is at least `CLIPPED_LEVEL`, in [0, 1]."""
    grey = cv2.cvtColor(image_rgb, cv2.COLOR_RGB2GRAY)
    return float(np.count_nonzero(grey >= CLIPPED_LEVEL)) / grey.size


def check_exposure(image_rgb: np.ndarray) -> None:
    """Refuse an over-exposed field (too much of it white), before anything is measured on it.

    Raises:
        PreprocessingError: more than `MAX_CLIPPED_FRACTION` of the field is clipped white.
    """
    clipped = clipped_fraction(image_rgb)
    if clipped > MAX_CLIPPED_FRACTION:
        raise PreprocessingError(
            f"This field is over-exposed: {clipped:.0%} of it is pure white. "
            "Lower the microscope's light or the camera's exposure and take the photo again."
        )


def check_focus(work_rgb: np.ndarray) -> None:
    """Refuse a field too blurred for its cells' edges to be found.

    Raises:
        PreprocessingError: `sharpness` is under `MIN_SHARPNESS`.
    """
    value = sharpness(work_rgb)
    if value < MIN_SHARPNESS:
        raise PreprocessingError(
            f"This field is out of focus (sharpness {value:.2f}, at least {MIN_SHARPNESS} is needed). "
            "Focus on the cells with the fine focus knob and take the photo again."
        )
