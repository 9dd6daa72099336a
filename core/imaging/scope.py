"""Is an image the kind of input the model was trained on? Reasons why it may not be.

The classifier only knows C-NMC 2019 inputs: one segmented white blood cell, stained,
centred on a black background (the background was set to zero by the dataset's own
segmentation). A phone photo, a whole blood smear or a cell on a bright field still gets
an answer from the model, but that answer means nothing. `assess_scope` looks for the
cheap, visible signs of such inputs; an empty list means "looks in scope", not "correct".
"""
from __future__ import annotations

import cv2
import numpy as np

from core import config
from core.imaging.preprocess import PreprocessResult

# Grey level (0-255) above which a pixel counts as "not background". C-NMC backgrounds are
# exactly 0; the margin tolerates JPEG noise and dim real cells (the sample peaks at 84).
BACKGROUND_LEVEL = 16
# The border strip examined, as a fraction of the shorter side.
BORDER_FRACTION = 0.04
# Share of border pixels allowed above BACKGROUND_LEVEL (a cell may touch the edge a little).
MAX_BRIGHT_BORDER_FRACTION = 0.15
# A second object counts as "large" when it has at least this share of the largest's area.
LARGE_BLOB_RATIO = 0.25
# ... and at least this share of the whole image (ignores specks and debris).
MIN_BLOB_FRACTION = 0.002
# Median chroma (max - min of R, G, B, 0-255) over the cell mask below which the image counts as
# colour-stripped. Measured with `median_chroma`: the 251 real C-NMC cells of shared/data/real_cells
# give min 41, 1st percentile 42, 5th 44, median 50, max 58; 100 synthetic demo cells give min 26,
# 5th percentile 27, median 53, max 69; a grayscale copy gives exactly 0 (0 after JPEG, too).
# 12 leaves a margin of more than 2x below the synthetic minimum and 3x below the real one.
MIN_STAIN_CHROMA = 12.0
NO_STAIN_REASON = "No stain colour: the model learned colour images."


def border_pixels(grayscale: np.ndarray) -> np.ndarray:
    """The outer strip of a (H, W) image, flattened: top and bottom rows, left and right columns."""
    width = max(1, round(min(grayscale.shape) * BORDER_FRACTION))
    return np.concatenate([
        grayscale[:width].ravel(), grayscale[-width:].ravel(),
        grayscale[width:-width, :width].ravel(), grayscale[width:-width, -width:].ravel(),
    ])


def large_blob_count(grayscale: np.ndarray) -> int:
    """How many separate large bright objects a (H, W) uint8 image holds on its dark background."""
    foreground = (grayscale > BACKGROUND_LEVEL).astype(np.uint8)
    # Opening removes single-pixel noise so that it does not bridge or split objects.
    foreground = cv2.morphologyEx(foreground, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    count, _, stats, _ = cv2.connectedComponentsWithStats(foreground, connectivity=8)
    areas = stats[1:, cv2.CC_STAT_AREA]
    if count <= 1:
        return 0
    minimum = max(LARGE_BLOB_RATIO * areas.max(), MIN_BLOB_FRACTION * grayscale.size)
    return int(np.count_nonzero(areas >= minimum))


def median_chroma(image_rgb: np.ndarray, mask: np.ndarray) -> float | None:
    """Median of max(R, G, B) - min(R, G, B) over the mask's pixels, in 0-255; None for an empty mask.

    Args:
        image_rgb: (H, W, 3) uint8 RGB.
        mask: (H, W) uint8, non-zero on the cell.
    """
    if mask.shape != image_rgb.shape[:2]:
        return None
    red, green, blue = cv2.split(image_rgb)
    chroma = cv2.subtract(cv2.max(cv2.max(red, green), blue), cv2.min(cv2.min(red, green), blue))  # (H, W) uint8
    counts = cv2.calcHist([chroma], [0], (mask > 0).astype(np.uint8), [256], [0, 256]).ravel()
    return median_of_histogram(counts)


def median_of_histogram(counts: np.ndarray) -> float | None:
    """The median of the values 0..len(counts)-1 taken counts[v] times each, as `np.median` gives it; None if empty.

    A histogram instead of a sort: the scope check runs for every cell of the patient view.
    """
    total = int(round(float(np.sum(counts))))
    if total == 0:
        return None
    cumulative = np.cumsum(counts)
    low, high = np.searchsorted(cumulative, [(total - 1) // 2 + 1, total // 2 + 1])  # the middle one or two values
    return float((low + high) / 2)


def assess_scope(image_rgb: np.ndarray, stages: PreprocessResult) -> list[str]:
    """Reasons, in plain words, why an image does not look like a C-NMC input.

    Args:
        image_rgb: (H, W, 3) uint8 RGB, the decoded image that was classified.
        stages: its preprocessing stages (`core.imaging.preprocess.preprocess_cell`).

    Returns:
        Zero or more sentences; empty when the image looks like one segmented cell on a
        dark background.
    """
    grayscale = stages.grayscale if stages.grayscale.shape == image_rgb.shape[:2] else cv2.cvtColor(image_rgb, cv2.COLOR_RGB2GRAY)
    reasons: list[str] = []
    bright_border = float(np.mean(border_pixels(grayscale) > BACKGROUND_LEVEL))
    if bright_border > MAX_BRIGHT_BORDER_FRACTION:
        reasons.append(
            f"The background is not dark: {bright_border:.0%} of the image's edge is bright. "
            "The model was trained on segmented cells on a black background."
        )
    low, high = config.SCOPE_MASK_FRACTION  # Inside preprocessing's wide range: see core.config.
    if stages.mask_fraction > high:
        reasons.append(f"The cell mask covers {stages.mask_fraction:.0%} of the image: there is no single cell standing out.")
    elif stages.mask_fraction < low:
        reasons.append(f"The cell mask covers only {stages.mask_fraction:.1%} of the image: the cell is tiny or missing.")
    blobs = large_blob_count(grayscale)
    if blobs > 1:
        reasons.append(f"The image holds {blobs} separate large objects; the model expects exactly one cell.")
    if stages.fallback:
        reasons.append(stages.fallback)
    chroma = median_chroma(image_rgb, stages.mask)
    if chroma is not None and chroma < MIN_STAIN_CHROMA:
        reasons.append(NO_STAIN_REASON)
    return reasons
