"""Grad-CAM (Selvaraju et al. 2017, arXiv:1610.02391): conv channels weighted by their mean gradient."""
from __future__ import annotations

import numpy as np


def gradcam(activations: np.ndarray, gradients: np.ndarray) -> np.ndarray:
    """Grad-CAM: channels weighted by their mean gradient. (h, w, C) twice -> (h, w)."""
    weights = gradients.mean(axis=(0, 1))
    return np.maximum((activations * weights).sum(axis=-1), 0.0)
