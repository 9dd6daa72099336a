"""Shapes and noise for the synthetic cells: contours, masks, smooth noise fields, nucleoli, placement.

Every function draws from the generator it is given, in a fixed order, so a seed gives the same cell.
"""
from __future__ import annotations

import cv2
import numpy as np

CONTOUR_POINTS = 256


def radial_profile(rng: np.random.Generator, blastness: float) -> np.ndarray:
    """Contour radius over angle, relative to the mean radius: (CONTOUR_POINTS,) float64.

    Low harmonics give lobes, Gaussian dips give clefts/notches; both grow with blastness.
    A random orientation of the whole contour stands in for rotating the cell.
    """
    theta = np.linspace(0.0, 2.0 * np.pi, CONTOUR_POINTS, endpoint=False)
    orientation = rng.uniform(0.0, 2.0 * np.pi)
    irregularity = float(np.clip(0.045 + 0.03 * blastness + rng.normal(0.0, 0.012), 0.008, 0.14))
    harmonics = np.arange(2, 8)
    amplitudes = irregularity * rng.uniform(0.4, 1.0, harmonics.size) / np.sqrt(harmonics - 1)
    phases = rng.uniform(0.0, 2.0 * np.pi, harmonics.size)
    profile = 1.0 + (amplitudes[:, None] * np.cos(np.outer(harmonics, theta) + phases[:, None])).sum(0)
    notch_count = min(3, int(rng.poisson(max(0.0, 0.35 + 0.6 * blastness))))
    for _ in range(notch_count):
        centre = rng.uniform(0.0, 2.0 * np.pi)
        distance = np.angle(np.exp(1j * (theta - centre)))
        profile -= rng.uniform(0.07, 0.18) * np.exp(-((distance / rng.uniform(0.08, 0.2)) ** 2))
    ragged = np.arange(8, 25)  # Fine raggedness of the segmentation outline, both classes.
    profile += (rng.normal(0.0, 0.0025, ragged.size)[:, None]
                * np.cos(np.outer(ragged, theta) + rng.uniform(0.0, 2.0 * np.pi, ragged.size)[:, None])).sum(0)
    elongation = 1.0 + abs(rng.normal(0.0, 0.07))
    ellipse = 1.0 / np.sqrt((np.cos(theta - orientation) / elongation) ** 2 + np.sin(theta - orientation) ** 2)
    return profile * ellipse / np.sqrt(elongation)


def polygon_mask(profile: np.ndarray, radius: float, centre: np.ndarray, side: int) -> np.ndarray:
    """Filled contour (anti-aliased, sub-pixel) as a (side, side) float32 mask in [0, 1]."""
    theta = np.linspace(0.0, 2.0 * np.pi, profile.size, endpoint=False)
    points = centre + radius * profile[:, None] * np.stack([np.cos(theta), np.sin(theta)], 1)
    mask = np.zeros((side, side), np.uint8)
    cv2.fillPoly(mask, [np.round(points * 16).astype(np.int32)], 255, cv2.LINE_AA, shift=4)
    return mask.astype(np.float32) / 255.0


def smooth_noise(rng: np.random.Generator, grid: int, side: int, sigma: float) -> np.ndarray:
    """Gaussian-blurred white noise upscaled to (side, side) float32, zero mean, unit std."""
    field = cv2.GaussianBlur(rng.standard_normal((grid, grid)).astype(np.float32), (0, 0), sigma)
    field = (field - field.mean()) / (field.std() + 1e-6)  # Normalised on the small grid: cheaper.
    return cv2.resize(field, (side, side), interpolation=cv2.INTER_CUBIC)


def nucleoli(rng: np.random.Generator, blastness: float, radius: float, side: int) -> np.ndarray:
    """Pale round nucleoli (0-3, mostly in blasts) as a (side, side) float32 map in [0, 1]."""
    spots = np.zeros((side, side), np.float32)
    count = min(3, int(rng.poisson(max(0.0, 0.5 + 1.1 * blastness))))
    for _ in range(count):
        angle, distance = rng.uniform(0.0, 2.0 * np.pi), radius * rng.uniform(0.0, 0.5)
        centre = side / 2 + distance * np.array([np.cos(angle), np.sin(angle)])
        spot_radius = max(2.0, radius * rng.uniform(0.06, 0.11))
        strength = float(np.clip(rng.normal(0.8, 0.2), 0.3, 1.0))
        cv2.circle(spots, tuple(np.round(centre * 16).astype(int)), int(spot_radius * 16),
                   strength, -1, cv2.LINE_AA, shift=4)
    return cv2.GaussianBlur(spots, (0, 0), max(1.0, radius * 0.025)) if count else spots


def place_on_canvas(rng: np.random.Generator, tile_rgb: np.ndarray, image_size: int) -> np.ndarray:
    """Pastes a (side, side, 3) uint8 RGB tile, side < image_size, near the centre of a black canvas.

    Returns:
        (image_size, image_size, 3) uint8 RGB.
    """
    canvas = np.zeros((image_size, image_size, 3), np.uint8)
    side = tile_rgb.shape[0]
    slack = (image_size - side) / 2
    top, left = np.round(slack + np.clip(rng.normal(0.0, 0.035 * image_size, 2), -slack, slack)).astype(int)
    canvas[top:top + side, left:left + side] = tile_rgb
    return canvas
