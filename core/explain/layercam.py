"""LayerCAM (Jiang et al. 2021, IEEE TIP 30): every position weighted by its own positive gradient."""
from __future__ import annotations

import numpy as np


def layercam(activations: np.ndarray, gradients: np.ndarray) -> np.ndarray:
    """LayerCAM: every position weighted by its own positive gradient. (h, w, C) twice -> (h, w)."""
    return np.maximum((activations * np.maximum(gradients, 0.0)).sum(axis=-1), 0.0)
