"""Is a smear field fit for finding cells? Over-exposed and blurred fields are refused with a reason.

Both measures are taken on the field at the working scale (its red cells `WORK_RED_CELL_PX` across,
`core.imaging.fields`), so a photo's size or magnification does not change them. Unstained fields
are refused by `core.imaging.field_scale.stained_objects`.
"""
from __future__ import annotations

import cv2
import numpy as np

from core.errors import PreprocessingError

# A pixel is clipped when its grey level is at least this (of 255).
CLIPPED_LEVEL = 250
# Refuse a field when more than this share of it is clipped. The 200 BCCD fields: at most 0.009%.
MAX_CLIPPED_FRACTION = 0.25
# Sharpness: the Laplacian's variance over the grey image's variance (both at the working scale).
# The 200 BCCD fields give 0.022 to 0.29 (median 0.054); the same fields blurred by a Gaussian of
# sigma 0.05 D (2 px) give at most 0.0144. A field under MIN_SHARPNESS is refused as out of focus.
MIN_SHARPNESS = 0.015


def sharpness(work_rgb: np.ndarray) -> float:
    """(h, w, 3) uint8 RGB at the working scale -> var(Laplacian) / var(grey), dimensionless, >= 0."""
    grey = cv2.cvtColor(work_rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float(cv2.Laplacian(grey, cv2.CV_32F).var() / max(1.0, float(grey.var())))


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
            f"This field is out of focus (sharpness {value:.3f}, at least {MIN_SHARPNESS} is needed). "
            "Focus on the cells with the fine focus knob and take the photo again."
        )
