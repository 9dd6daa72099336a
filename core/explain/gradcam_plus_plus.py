"""Grad-CAM++ (Chattopadhyay et al. 2018, arXiv:1710.11063): positive gradients weighted by closed-form alphas."""
from __future__ import annotations

import numpy as np


def gradcam_plus_plus(activations: np.ndarray, gradients: np.ndarray) -> np.ndarray:
    """Grad-CAM++ with the closed-form alphas. (h, w, C) twice -> (h, w).

    With score S = exp(s), the 1st/2nd/3rd derivatives are exp(s) g, exp(s) g^2 and
    exp(s) g^3 (tf-keras-vis's formulation). The exp(s) factor cancels in the alphas and only
    scales the final map, which is normalised anyway, so it is left out: it would overflow
    float32 for logits above about 88.
    """
    second, third = gradients**2, gradients**3
    global_sum = activations.sum(axis=(0, 1), keepdims=True)
    denominator = 2.0 * second + third * global_sum
    alphas = second / (denominator + (second == 0.0))
    normaliser = alphas.sum(axis=(0, 1), keepdims=True)
    alphas = alphas / (normaliser + (normaliser == 0.0))
    weights = (np.maximum(gradients, 0.0) * alphas).sum(axis=(0, 1))
    return np.maximum((activations * weights).sum(axis=-1), 0.0)
