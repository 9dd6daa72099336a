"""Inputs shared by the explanation tests: a 96 px synthetic cell and the tf-keras-vis scores to compare with."""
from __future__ import annotations

import cv2
import numpy as np

from core.data import labels

SIZE = 96  # conv5 is 3x3, conv4 6x6, conv3 12x12


def synthetic_cell(size: int, seed: int = 1) -> np.ndarray:
    """(size, size, 3) uint8 RGB: a stained cell with a darker nucleus on a dark, noisy background."""
    image_rgb = np.full((size, size, 3), 20, np.uint8)
    cv2.circle(image_rgb, (size * 2 // 5, size // 2), size // 4, (150, 90, 180), -1)
    cv2.circle(image_rgb, (size * 2 // 5 + 4, size // 2 - 3), size // 8, (90, 30, 120), -1)
    noise = np.random.default_rng(seed).integers(0, 30, image_rgb.shape)
    return np.clip(image_rgb + noise, 0, 255).astype(np.uint8)


def correlation(first: np.ndarray, second: np.ndarray) -> float:
    return float(np.corrcoef(np.ravel(first), np.ravel(second))[0, 1])



def log_odds_score(target: str):
    """tf-keras-vis score on the class-logit view: z for "all", -z for "hem"."""
    index = labels.CLASS_NAMES.index(target)
    return lambda output: output[:, index] - output[:, 1 - index]
