"""Drawing of one synthetic segmented white blood cell in the C-NMC 2019 look.

Each cell gets a latent "blastness" score: leukemic blasts ("all") centre on +0.8 and normal
lymphocytes ("hem") on -0.8 with a spread of 0.5, shifted per subject. Every visible feature
(size, contour irregularity, clefts, chromatin, nucleoli, cytoplasm rim) is that score times a
weight plus its own noise, so the classes overlap and a good classifier stays near 90-95 %.
Stain hue, saturation, brightness, size, texture contrast and focus are per-subject nuisances
drawn from one distribution for both classes (`SubjectStyle`): with few subjects they correlate
with the label by chance, which is what a random image split exploits and a subject split exposes.

Sizes are fractions of the image side, so any `image_size` gives the same picture at 450 x 450.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from core.data import synthetic_shapes as shapes

# Class centres of the latent blastness score and its spread within one subject.
BLASTNESS_MEAN = {"all": 0.9, "hem": -0.9}
BLASTNESS_SPREAD = 0.45
# Blast morphology varies more between patients (small L1-like blasts) than lymphocytes do.
SUBJECT_OFFSET_SPREAD = {"all": 0.35, "hem": 0.2}

# Stain palette, RGB in [0, 255], before the subject's hue/saturation/brightness shift.
# Tuned on the real sample, whose nucleus averages about (84, 37, 90).
NUCLEUS_PALE_RGB = (134, 66, 132)
NUCLEUS_DARK_RGB = (34, 8, 49)
CYTOPLASM_PALE_RGB = (114, 66, 120)
CYTOPLASM_DARK_RGB = (88, 46, 100)

MEAN_RADIUS_FRACTION = 0.235  # Equivalent radius of an average cell over the image side.
COARSE_GRID = 22  # Low-resolution grid of the clumped-chromatin noise, upscaled to the cell.
FINE_GRID = 80  # Low-resolution grid of the fine-chromatin noise.


@dataclass(frozen=True)
class SubjectStyle:
    """Per-subject nuisance: stain, exposure, magnification, texture and focus.

    Attributes:
        hue_shift_deg: rotation of the stain hue in degrees (negative = bluer, positive = redder).
        saturation_scale: multiplies the stain saturation.
        brightness_scale: multiplies the stain value (exposure).
        size_scale: multiplies every cell radius (magnification / patient variation).
        texture_scale: multiplies chromatin contrast (staining intensity).
        focus_sigma: Gaussian blur of the finished cell, in pixels at 450 x 450.
        blastness_offset: shift of this subject's latent blastness (biological variation).
    """

    hue_shift_deg: float
    saturation_scale: float
    brightness_scale: float
    size_scale: float
    texture_scale: float
    focus_sigma: float
    blastness_offset: float


def make_subject_style(rng: np.random.Generator, label: str) -> SubjectStyle:
    """Draws one subject's style; the stain nuisance is independent of `label` on purpose.

    Args:
        rng: the subject's random generator.
        label: "all" or "hem"; it only sets the spread of the biological `blastness_offset`.

    Raises:
        ValueError: `label` is not "all" or "hem".
    """
    _check_label(label)
    return SubjectStyle(
        hue_shift_deg=float(rng.normal(0.0, 9.0)),
        saturation_scale=float(np.exp(rng.normal(0.0, 0.12))),
        brightness_scale=float(np.exp(rng.normal(0.0, 0.12))),
        size_scale=float(np.exp(rng.normal(0.0, 0.07))),
        texture_scale=float(np.exp(rng.normal(0.0, 0.2))),
        focus_sigma=float(rng.uniform(0.3, 1.6)),
        blastness_offset=float(rng.normal(0.0, SUBJECT_OFFSET_SPREAD[label])),
    )


def render_cell(
    rng: np.random.Generator, label: str, style: SubjectStyle, image_size: int = 450
) -> np.ndarray:
    """Draws one segmented cell on a black square.

    Args:
        rng: random generator; the same generator state gives the same image.
        label: "all" (leukemic blast) or "hem" (normal lymphocyte).
        style: the subject's nuisance parameters.
        image_size: side of the square image in pixels (at least 64).

    Returns:
        (image_size, image_size, 3) uint8 RGB; pixels outside the cell are exactly 0.

    Raises:
        ValueError: unknown `label` or `image_size` below 64.
    """
    _check_label(label)
    if image_size < 64:
        raise ValueError(f"image_size must be at least 64 pixels, got {image_size}.")
    blastness = BLASTNESS_MEAN[label] + style.blastness_offset + rng.normal(0.0, BLASTNESS_SPREAD)
    scale = image_size / 450.0
    radius = image_size * MEAN_RADIUS_FRACTION * style.size_scale
    radius *= float(np.clip(1.0 + 0.085 * blastness + rng.normal(0.0, 0.06), 0.7, 1.35))
    profile = shapes.radial_profile(rng, blastness)
    radius = min(radius, 0.42 * image_size / profile.max())  # Keep a black border around the cell.
    half = int(np.ceil(radius * profile.max() + 6 * scale)) + 2
    tile_rgb = _paint_cell(rng, blastness, style, radius, profile, half, scale)
    return shapes.place_on_canvas(rng, tile_rgb, image_size)


def _check_label(label: str) -> None:
    if label not in BLASTNESS_MEAN:
        raise ValueError(f"label must be 'all' or 'hem', got {label!r}.")


def _stain_palette(style: SubjectStyle) -> np.ndarray:
    """The four palette colours after the subject's stain shift: (4, 3) float32 RGB in [0, 255]."""
    palette = np.array([[NUCLEUS_PALE_RGB, NUCLEUS_DARK_RGB, CYTOPLASM_PALE_RGB, CYTOPLASM_DARK_RGB]],
                       np.float32) / 255.0
    hsv = cv2.cvtColor(palette, cv2.COLOR_RGB2HSV)  # Float input: H in degrees, S and V in [0, 1].
    hsv[..., 0] = (hsv[..., 0] + style.hue_shift_deg) % 360.0
    hsv[..., 1] = np.clip(hsv[..., 1] * style.saturation_scale, 0.0, 1.0)
    hsv[..., 2] = np.clip(hsv[..., 2] * style.brightness_scale, 0.0, 1.0)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0] * 255.0


def _paint_cell(rng: np.random.Generator, blastness: float, style: SubjectStyle, radius: float,
                profile: np.ndarray, half: int, scale: float) -> np.ndarray:
    """The cell in its own (2*half, 2*half, 3) uint8 RGB tile, already multiplied by its soft mask."""
    side = 2 * half
    centre = np.array([half, half], np.float64)
    # A thin rim of paler cytoplasm, a little wider in lymphocytes, around an eccentric nucleus.
    rim = float(np.clip(0.065 - 0.02 * blastness + rng.normal(0.0, 0.015), 0.02, 0.14))
    eccentric = centre + radius * rim * 0.6 * rng.uniform(-1.0, 1.0, 2)
    cell_mask = shapes.polygon_mask(profile, radius, centre, side)
    nucleus_mask = shapes.polygon_mask(profile, radius * (1.0 - rim), eccentric, side) * cell_mask
    nucleus_weight = cv2.GaussianBlur(nucleus_mask, (0, 0), 2.5 * scale + 0.5)
    fine = shapes.smooth_noise(rng, FINE_GRID, side, 0.9)
    density = _chromatin_density(rng, blastness, style, fine, radius)
    cytoplasm = np.clip(0.35 + 0.05 * fine, 0.0, 1.0)
    palette = _stain_palette(style)
    edge = cv2.GaussianBlur(cell_mask, (0, 0), 0.6 * scale + 0.2)
    edge *= cell_mask > 0  # Segmented: the blur darkens the outline but nothing leaks outside.
    focus_sigma = style.focus_sigma * scale + 0.1
    channels = []
    for channel in range(3):  # Per channel on 2-D arrays: about twice as fast as broadcasting.
        nucleus = palette[0, channel] + (palette[1, channel] - palette[0, channel]) * density
        cytoplasm_channel = palette[2, channel] + (palette[3, channel] - palette[2, channel]) * cytoplasm
        colour = cytoplasm_channel + (nucleus - cytoplasm_channel) * nucleus_weight
        colour = cv2.GaussianBlur(colour, (0, 0), focus_sigma) * edge + 0.5
        channels.append(np.clip(colour, 0.0, 255.0).astype(np.uint8))
    return cv2.merge(channels)


def _chromatin_density(rng: np.random.Generator, blastness: float, style: SubjectStyle,
                       fine: np.ndarray, radius: float) -> np.ndarray:
    """Nuclear stain density, (side, side) float32 in [0, 1] where 1 is darkest.

    Lymphocytes (low blastness) are darker with coarse condensed clumps; blasts are paler with
    fine open chromatin and pale nucleoli. `fine` is the (side, side) unit-variance fine noise.
    """
    side = fine.shape[0]
    coarse = np.tanh(1.6 * shapes.smooth_noise(rng, COARSE_GRID, side, 1.2))
    base = 0.5 - 0.07 * blastness + rng.normal(0.0, 0.035)
    coarse_weight = max(0.0, 0.09 - 0.03 * blastness + rng.normal(0.0, 0.015)) * style.texture_scale
    fine_weight = max(0.0, 0.05 + 0.015 * blastness + rng.normal(0.0, 0.008)) * style.texture_scale
    density = base + coarse_weight * coarse + fine_weight * fine
    density -= (0.22 + 0.05 * blastness) * shapes.nucleoli(rng, blastness, radius, side)
    return np.clip(density, 0.0, 1.0)
