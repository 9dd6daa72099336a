"""SmoothGrad (Smilkov et al. 2017, arXiv:1706.03825): input gradients averaged over noisy copies."""
from __future__ import annotations

import numpy as np

SMOOTHGRAD_CHUNK = 5  # noisy inputs per backward pass inside SmoothGrad


def smoothgrad_noise(scaled_input: np.ndarray, samples: int, noise: float, seed: int) -> np.ndarray:
    """(samples, S, S, 3) float32 Gaussian noise with sigma = noise * (max - min) of the input.

    Drawn like tf-keras-vis (one legacy-NumPy normal draw of shape (samples, 1, S, S, 3)),
    but from a generator seeded per call, so a map is reproducible and thread-safe.
    """
    sigma = noise * float(scaled_input.max() - scaled_input.min())
    draws = np.random.RandomState(seed).normal(0.0, sigma, (samples, 1) + scaled_input.shape)
    return draws[:, 0].astype(np.float32)
