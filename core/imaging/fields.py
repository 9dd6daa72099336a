"""Find the white cells in a photo of a stained blood smear field, by classical image analysis.

No trained detector: in a Romanowsky-stained smear (Wright, Giemsa, May-Grünwald-Giemsa) a white
cell's nucleus is the only large purple-blue object; red cells are pink and the background light.

Steps, every size in units of the field's red-cell diameter D (`core.imaging.field_scale`):
1. the field is resized so that D is `WORK_RED_CELL_PX` pixels (any magnification looks the same);
2. the nucleus map is blue minus red (purple-blue nuclei high, pink red cells low), thresholded by
   Otsu's method over its upper half and never under the background's level plus `NUCLEUS_CONTRAST`;
3. the lobes of one nucleus are joined (closing by a disc of `LOBE_GAP_D` D) and objects smaller
   than `MIN_NUCLEUS_AREA_D2` D² (platelets, debris) are dropped;
4. touching nuclei are split by a watershed on their distance transform, one seed per peak that is
   at least `MIN_SEED_DEPTH_D` D deep and `MIN_SEED_SPACING_D` D from a deeper one;
5. each nucleus grows into its cytoplasm (`core.imaging.cytoplasm`), and a cell that touches the
   image border is marked `cut_by_border` (it is counted, never cut out or classified).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from core.imaging import field_checks, field_scale
from core.imaging.cytoplasm import grow_cells

MAX_FIELD_SIDE = 2048  # Longer photos are shrunk to this before the red cells are measured (bounded memory).
WORK_RED_CELL_PX = 40.0  # The red-cell diameter the field is resized to before any other step.
NUCLEUS_CONTRAST = 25.0  # Blue minus red (0-255 scale) a nucleus must exceed the background by.
LOBE_GAP_D = 0.2  # Radius of the closing that joins the lobes of one nucleus.
MIN_NUCLEUS_AREA_D2 = 0.3  # Smaller purple objects are platelets, their clumps or debris (a platelet is about 0.07 D²).
MIN_SEED_DEPTH_D = 0.25  # A watershed seed is a distance-transform peak at least this deep ...
MIN_SEED_SPACING_D = 0.9  # ... and at least this far from a deeper one (two cells' nuclei are further apart).
NECK_RATIO = 0.5  # Parts whose shared border is this deep (relative to the shallower) are one nucleus.


@dataclass(frozen=True)
class FoundCell:
    """One white cell found in a field.

    Attributes:
        box: (x0, y0, x1, y1) in the given image's pixels, x right, y down, x1 and y1 exclusive.
        mask: (y1 - y0, x1 - x0) bool, True on the cell (nucleus and cytoplasm) within `box`.
        nucleus_fraction: the nucleus' share of the cell's area, in (0, 1].
        cut_by_border: True when the cell touches the image border (part of it lies outside).
    """

    box: tuple[int, int, int, int]
    mask: np.ndarray
    nucleus_fraction: float
    cut_by_border: bool


@dataclass(frozen=True)
class FieldCells:
    """What `find_white_cells` found: the cells, in reading order, and the ruler it used.

    Attributes:
        cells: every cell found, those cut by the border included (marked).
        red_cell_diameter_px: the measured red-cell diameter in the given image's pixels.
    """

    cells: tuple[FoundCell, ...]
    red_cell_diameter_px: float

    @property
    def whole_cells(self) -> tuple[FoundCell, ...]:
        """The cells that lie wholly inside the image: the ones to cut out and classify."""
        return tuple(cell for cell in self.cells if not cell.cut_by_border)


def find_white_cells(field_rgb: np.ndarray) -> FieldCells:
    """Find every white cell in a stained smear field.

    Args:
        field_rgb: (H, W, 3) uint8 RGB, a photo of a smear field (light background, red cells).

    Returns:
        A `FieldCells` whose boxes and masks are in `field_rgb`'s pixels; possibly no cell.

    Raises:
        PreprocessingError: the field is over-exposed, unstained, out of focus, or holds too few
            cells to measure.

    >>> found = find_white_cells(load_image("field.jpg").image_rgb)  # doctest: +SKIP
    >>> [cell.box for cell in found.whole_cells]  # doctest: +SKIP
    """
    field_checks.check_exposure(field_rgb)
    bounded_rgb, bound = _bounded(field_rgb)
    diameter = field_scale.red_cell_diameter(field_scale.stained_objects(bounded_rgb)) / bound
    scale = WORK_RED_CELL_PX / diameter  # From the given image's pixels to the working scale's.
    work_rgb = _resized(bounded_rgb, scale / bound)
    field_checks.check_focus(work_rgb)
    nuclei = split_touching(nucleus_mask(work_rgb))
    labels, nucleus_areas = grow_cells(work_rgb, nuclei, WORK_RED_CELL_PX)
    found = (_found_cell(labels == label, nucleus_areas[label], scale, field_rgb.shape[:2])
             for label in range(1, int(labels.max()) + 1))
    cells = [cell for cell in found if cell is not None]
    cells.sort(key=lambda cell: (cell.box[1] // max(1, round(diameter)), cell.box[0]))
    return FieldCells(tuple(cells), diameter)


def _bounded(field_rgb: np.ndarray) -> tuple[np.ndarray, float]:
    """The field shrunk so that its longer side is at most `MAX_FIELD_SIDE` px, and the factor used (<= 1)."""
    factor = min(1.0, MAX_FIELD_SIDE / max(field_rgb.shape[:2]))
    return (field_rgb, 1.0) if factor == 1.0 else (_resized(field_rgb, factor), factor)


def _resized(image_rgb: np.ndarray, scale: float) -> np.ndarray:
    """(H, W, 3) uint8 resized by `scale` (area averaging when shrinking)."""
    size = (max(1, round(image_rgb.shape[1] * scale)), max(1, round(image_rgb.shape[0] * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.resize(image_rgb, size, interpolation=interpolation)


def nucleus_score(work_rgb: np.ndarray) -> np.ndarray:
    """(h, w, 3) uint8 RGB -> (h, w) float32 blue minus red, lightly smoothed; purple-blue nuclei are high."""
    score = work_rgb[..., 2].astype(np.float32) - work_rgb[..., 0].astype(np.float32)
    return cv2.GaussianBlur(score, (0, 0), 0.03 * WORK_RED_CELL_PX)


def nucleus_mask(work_rgb: np.ndarray) -> np.ndarray:
    """(h, w, 3) uint8 RGB at the working scale -> (h, w) bool, True on white-cell nuclei (lobes joined)."""
    score = nucleus_score(work_rgb)
    background = float(np.median(score))
    upper = score[score > background]
    shifted = np.clip(upper - background, 0, 255).astype(np.uint8).reshape(-1, 1)
    otsu, _ = cv2.threshold(shifted, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU) if upper.size else (0.0, None)
    binary = (score > background + max(float(otsu), NUCLEUS_CONTRAST)).astype(np.uint8)
    binary = cv2.morphologyEx(binary, cv2.MORPH_OPEN, field_scale.disc(0.05 * WORK_RED_CELL_PX))
    binary = cv2.morphologyEx(binary, cv2.MORPH_CLOSE, field_scale.disc(LOBE_GAP_D * WORK_RED_CELL_PX))
    binary = field_scale.fill_holes(binary > 0).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    keep = np.flatnonzero(stats[:, cv2.CC_STAT_AREA] >= MIN_NUCLEUS_AREA_D2 * WORK_RED_CELL_PX ** 2)
    return np.isin(labels, keep[keep > 0])


def split_touching(nuclei: np.ndarray) -> np.ndarray:
    """(h, w) bool nuclei -> (h, w) int32 labels 0 (none), 1..n, touching nuclei split by a watershed."""
    distance = cv2.distanceTransform(nuclei.astype(np.uint8), cv2.DIST_L2, 5)  # (h, w) float32 px.
    spacing = field_scale.disc(MIN_SEED_SPACING_D * WORK_RED_CELL_PX / 2)
    peaks = (distance >= cv2.dilate(distance, spacing)) & (distance >= MIN_SEED_DEPTH_D * WORK_RED_CELL_PX)
    seed_count, markers = cv2.connectedComponents(peaks.astype(np.uint8), connectivity=8)
    outside = seed_count  # One more label for everything off the nuclei.
    markers[~nuclei] = outside
    relief = cv2.cvtColor(np.clip(255 - 8 * distance, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)
    cv2.watershed(relief, markers)
    markers[(markers == outside) | (markers < 0)] = 0
    # The watershed's one-pixel lines inside a nucleus go to a neighbouring part.
    markers = np.where(nuclei & (markers == 0), cv2.dilate(markers.astype(np.float32), np.ones((3, 3))).astype(np.int32), markers)
    # A nucleus too shallow for a seed keeps a label of its own.
    _, pieces = cv2.connectedComponents((nuclei & (markers == 0)).astype(np.uint8), connectivity=8)
    markers = np.where(pieces > 0, pieces + seed_count, markers)
    return _relabelled(_merged_across_wide_necks(_relabelled(markers), distance))


def _merged_across_wide_necks(labels: np.ndarray, distance: np.ndarray) -> np.ndarray:
    """Merge neighbouring parts of one nucleus: the watershed over-splits lobed nuclei.

    Two touching nuclei meet at a narrow neck; the lobes of one nucleus, joined by the closing,
    at a wide one. Parts are merged when the deepest point of their shared border is at least
    `NECK_RATIO` times the shallower part's deepest point (distances to the nucleus' edge).
    """
    count = int(labels.max())
    peaks = np.zeros(count + 1, np.float32)
    np.maximum.at(peaks, labels.ravel(), distance.ravel())
    parent = list(range(count + 1))
    for label in range(1, count + 1):
        grown = cv2.dilate((labels == label).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
        for other in np.unique(labels[grown & (labels > label)]):
            neck = float(distance[grown & (labels == other)].max())
            if neck >= NECK_RATIO * min(peaks[label], peaks[other]):
                parent[_root(parent, int(other))] = _root(parent, label)
    roots = np.array([_root(parent, label) for label in range(count + 1)], np.int32)
    return roots[labels]


def _root(parent: list[int], label: int) -> int:
    """The representative label of `label`'s merged group (union-find with path halving)."""
    while parent[label] != label:
        parent[label] = parent[parent[label]]
        label = parent[label]
    return label


def _relabelled(labels: np.ndarray) -> np.ndarray:
    """Labels renumbered 1..n without gaps (0 stays 0), int32."""
    values, inverse = np.unique(labels, return_inverse=True)
    offset = 0 if values[0] == 0 else 1
    return (inverse.reshape(labels.shape) + offset).astype(np.int32)


def _found_cell(work_mask: np.ndarray, nucleus_area: int, scale: float, shape: tuple[int, int]) -> FoundCell | None:
    """One cell's (h, w) bool working-scale mask -> a `FoundCell` in the original image's pixels; None if empty."""
    ys, xs = np.nonzero(work_mask)
    if ys.size == 0:
        return None
    height, width = shape
    x0, y0 = max(0, int(xs.min() / scale)), max(0, int(ys.min() / scale))
    x1, y1 = min(width, int(np.ceil((xs.max() + 1) / scale))), min(height, int(np.ceil((ys.max() + 1) / scale)))
    crop = work_mask[ys.min():ys.max() + 1, xs.min():xs.max() + 1].astype(np.float32)
    # Linear interpolation and a half-way cut give a smooth outline rather than working-scale steps.
    mask = cv2.resize(crop, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR) >= 0.5
    touches = bool(ys.min() == 0 or xs.min() == 0 or ys.max() == work_mask.shape[0] - 1 or xs.max() == work_mask.shape[1] - 1)
    return FoundCell((x0, y0, x1, y1), mask, min(1.0, nucleus_area / ys.size), touches)
