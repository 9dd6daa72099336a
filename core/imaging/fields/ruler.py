"""The scale of a stained smear field: its background, its stained objects and its red-cell size.

Every later step of finding white cells (`core.imaging.fields.finder`) states its sizes in units of the
field's red-cell diameter, measured here on the field itself, so that a 40x and a 100x objective
give the same result. A red cell is about 7.5 µm across in every blood smear, which makes it the
natural ruler of a field whose magnification nobody states.

Method: stained objects (red cells, white cells, platelets) absorb green light, so Otsu's threshold
on the green channel separates them from the light background; the pale centres of red cells are
filled; a granulometry finds the radius of the cells that make most of the stained area, which is the
red cells' even where they touch or overlap in clumps (white cells are few in a field).
"""
from __future__ import annotations

import cv2
import numpy as np

from core.errors import PreprocessingError

# A field needs at least this many stained objects to measure its red cells.
MIN_OBJECTS = 3
# The smallest radius, in pixels of the granulometry's copy, that counts (smaller pieces are specks).
MIN_SPECTRUM_RADIUS = 3
# The longer side, in pixels, of the copy the granulometry runs on (a red cell is then 20-60 px across).
SPECTRUM_SIDE = 320
# A hole is a red cell's pale centre when its area is at most this times the median hole's.
HOLE_AREA_FACTOR = 4.0
# Chroma (0-255) the stained objects must exceed the background's by; below it the field is unstained.
# Measured: the 200 BCCD fields give 5 (two blurred fields) to 34, median about 20; a grey copy gives 0.
MIN_STAIN_CHROMA = 3


def stained_objects(image_rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (H, W) bool, True on stained objects (any cell), holes filled.

    Every Romanowsky-stained object absorbs green light (red cells are pink, nuclei purple), so
    Otsu's threshold on the green channel separates them from the light background.

    Raises:
        PreprocessingError: the field holds no colour (an unstained or grey field).
    """
    green = cv2.GaussianBlur(np.ascontiguousarray(image_rgb[..., 1]), (5, 5), 0)
    _, binary = cv2.threshold(green, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    objects = binary > 0
    if not objects.any() or objects.all() or _chroma_contrast(image_rgb, objects) < MIN_STAIN_CHROMA:
        raise PreprocessingError(
            "This field shows no stained cells (its colours hardly differ from the background). "
            "Photograph a smear stained with Wright-Giemsa or May-Grünwald-Giemsa, in colour."
        )
    return fill_holes(objects)


def _chroma_contrast(image_rgb: np.ndarray, objects: np.ndarray) -> float:
    """Median chroma (max - min of R, G, B; 0-255) of the objects minus that of the background."""
    chroma = image_rgb.max(axis=2).astype(np.int16) - image_rgb.min(axis=2)
    return float(np.median(chroma[objects])) - float(np.median(chroma[~objects]))


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """(H, W) bool -> (H, W) bool with the red cells' pale centres filled.

    A hole is background that the border's background cannot reach. Most holes are the pale
    centres of red cells, all of about one size; background enclosed by a ring of touching cells is
    larger. So a hole is filled when its area is at most `HOLE_AREA_FACTOR` times the median hole's.
    """
    padded = np.pad((~mask).astype(np.uint8), 1, constant_values=1)  # Background, framed so it connects.
    count, labels, stats, _ = cv2.connectedComponentsWithStats(padded, connectivity=4)
    if count <= 2:
        return mask
    outer = labels[0, 0]
    hole_ids = np.array([label for label in range(1, count) if label != outer])
    areas = stats[hole_ids, cv2.CC_STAT_AREA]
    small = hole_ids[areas <= HOLE_AREA_FACTOR * np.median(areas)]
    fill = np.isin(labels[1:-1, 1:-1], small)
    return mask | fill


def red_cell_diameter(objects: np.ndarray) -> float:
    """The typical red-cell diameter in pixels, from the (H, W) bool mask of stained objects.

    A granulometry by counts: the mask's deep parts {distance to background >= r} split into one
    piece per cell as r grows (touching cells part at their narrow necks) and each piece vanishes
    at its cell's inscribed radius. The radii at which pieces vanish, each weighted by its disc's
    area (r^2, so that specks and platelets count for little), have a median: the radius of the
    cells that make most of the stained area, the red cells. On 40 BCCD fields it came out 0.87x
    the median red-cell box side (5th-95th percentile of the ratio 0.74-1.05). It runs on a copy
    whose longer side is `SPECTRUM_SIDE` pixels, so it costs the same for any photo size.

    Raises:
        PreprocessingError: too few objects to measure (an empty or nearly empty field).
    """
    scale = min(1.0, SPECTRUM_SIDE / max(objects.shape))
    size = (max(1, round(objects.shape[1] * scale)), max(1, round(objects.shape[0] * scale)))
    small = cv2.resize(objects.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST)
    small = cv2.morphologyEx(small, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))  # Drop single-pixel specks.
    inside = cv2.distanceTransform(small, cv2.DIST_L2, 5)  # (h, w) float32: px to the background.
    radii = np.arange(MIN_SPECTRUM_RADIUS, int(inside.max()) + 1)
    if radii.size == 0:
        raise _too_few_objects()
    counts = np.array([cv2.connectedComponents((inside >= radius).astype(np.uint8))[0] - 1 for radius in radii])
    vanished = np.clip(-np.diff(np.append(counts, 0)), 0, None) * radii.astype(np.float64) ** 2
    if vanished.sum() <= 0 or counts[0] < MIN_OBJECTS:
        raise _too_few_objects()
    cumulative = np.cumsum(vanished)
    median_radius = radii[int(np.searchsorted(cumulative, cumulative[-1] / 2))]
    return float(2.0 * (median_radius + 0.5) / scale)


def _too_few_objects() -> PreprocessingError:
    return PreprocessingError(
        "Too few cells were found in this field to measure their size. "
        "Upload a photo of a blood smear field with red cells around the white cells."
    )


def disc(radius_px: float) -> np.ndarray:
    """A filled disc structuring element of the given radius (at least 1 px), uint8."""
    radius = max(1, round(radius_px))
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
