"""White-cell nuclei in a smear field at the working scale: found, their lobes joined, touching ones split, their shape.

Every size is in units of the red-cell diameter D, which is `WORK_RED_CELL_PX` pixels at the
working scale (`core.imaging.fields.finder` resizes each field so). Steps 2-4 of `core.imaging.fields.finder`.
"""
from __future__ import annotations

import cv2
import numpy as np

from core.imaging.fields import ruler

WORK_RED_CELL_PX = 40.0  # The red-cell diameter the field is resized to before any other step.
NUCLEUS_CONTRAST = 25.0  # Blue minus red (0-255 scale) a nucleus must exceed the background by.
LOBE_GAP_D = 0.2  # Radius of the closing that joins the lobes of one nucleus.
MIN_NUCLEUS_AREA_D2 = 0.3  # Smaller purple objects are platelets, their clumps or debris (a platelet is about 0.07 D²).
MIN_SEED_DEPTH_D = 0.25  # A watershed seed is a distance-transform peak at least this deep ...
MIN_SEED_SPACING_D = 0.9  # ... and at least this far from a deeper one (two cells' nuclei are further apart).
MIN_LOBE_AREA_D2 = 0.03  # A separate piece of nucleus this large counts as a lobe.
NECK_RATIO = 0.5  # Parts whose shared border is this deep (relative to the shallower) are one nucleus.


def nucleus_score(work_rgb: np.ndarray) -> np.ndarray:
    """(h, w, 3) uint8 RGB -> (h, w) float32 blue minus red, lightly smoothed; purple-blue nuclei are high."""
    score = work_rgb[..., 2].astype(np.float32) - work_rgb[..., 0].astype(np.float32)
    return cv2.GaussianBlur(score, (0, 0), 0.03 * WORK_RED_CELL_PX)


def nucleus_pixels(work_rgb: np.ndarray) -> np.ndarray:
    """(h, w, 3) uint8 RGB at the working scale -> (h, w) bool, the nucleus-coloured pixels (lobes apart)."""
    score = nucleus_score(work_rgb)
    background = float(np.median(score))
    upper = score[score > background]
    shifted = np.clip(upper - background, 0, 255).astype(np.uint8).reshape(-1, 1)
    otsu, _ = cv2.threshold(shifted, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU) if upper.size else (0.0, None)
    binary = (score > background + max(float(otsu), NUCLEUS_CONTRAST)).astype(np.uint8)
    return cv2.morphologyEx(binary, cv2.MORPH_OPEN, ruler.disc(0.05 * WORK_RED_CELL_PX)) > 0


def nucleus_mask(pixels: np.ndarray) -> np.ndarray:
    """(h, w) bool nucleus pixels -> (h, w) bool white-cell nuclei: lobes joined, holes filled, specks dropped."""
    binary = cv2.morphologyEx(pixels.astype(np.uint8), cv2.MORPH_CLOSE, ruler.disc(LOBE_GAP_D * WORK_RED_CELL_PX))
    binary = ruler.fill_holes(binary > 0).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    keep = np.flatnonzero(stats[:, cv2.CC_STAT_AREA] >= MIN_NUCLEUS_AREA_D2 * WORK_RED_CELL_PX ** 2)
    return np.isin(labels, keep[keep > 0])


def split_touching(nuclei: np.ndarray) -> np.ndarray:
    """(h, w) bool nuclei -> (h, w) int32 labels 0 (none), 1..n, touching nuclei split by a watershed."""
    distance = cv2.distanceTransform(nuclei.astype(np.uint8), cv2.DIST_L2, 5)  # (h, w) float32 px.
    spacing = ruler.disc(MIN_SEED_SPACING_D * WORK_RED_CELL_PX / 2)
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


def nucleus_shape(pixels: np.ndarray) -> tuple[float, int]:
    """One cell's nucleus pixels ((h, w) bool, lobes apart) -> (solidity, lobes).

    solidity: the pixels' area over their convex hull's, in (0, 1]; a round or oval nucleus (a
    lymphocyte's, a blast's) is near 1, a lobed or kidney-shaped one (a neutrophil's, a monocyte's)
    lower. lobes: the pieces of at least `MIN_LOBE_AREA_D2` D² (1 for a single nucleus). Both 1 and
    (1.0, 0) for an empty mask.
    """
    points = cv2.findNonZero(pixels.astype(np.uint8))
    if points is None:
        return 1.0, 0
    hull_area = cv2.contourArea(cv2.convexHull(points))
    solidity = min(1.0, float(np.count_nonzero(pixels)) / hull_area) if hull_area > 0 else 1.0
    _, _, stats, _ = cv2.connectedComponentsWithStats(pixels.astype(np.uint8), connectivity=8)
    lobes = int(np.count_nonzero(stats[1:, cv2.CC_STAT_AREA] >= MIN_LOBE_AREA_D2 * WORK_RED_CELL_PX ** 2))
    return solidity, max(1, lobes)
