"""Grow each white-cell nucleus of a smear field into its whole cell (nucleus and cytoplasm).

A white cell's cytoplasm is darker than the background (it absorbs light) yet not pink like a red
cell: its blue minus red lies above the midpoint between the red cells' and the background's,
its green below the midpoint between the background's and the red cells'. Those levels are
measured on each field. Candidate pixels within `MAX_CYTOPLASM_D` red-cell diameters of a
nucleus go to the nearest nucleus (a Voronoi split), and each cell is smoothed
to its convex hull (white cells are round, and the hull bridges pale gaps in the cytoplasm).
"""
from __future__ import annotations

import cv2
import numpy as np

from core.imaging.fields import ruler

MAX_CYTOPLASM_D = 0.6  # How far (in red-cell diameters D) the cell may reach beyond its nucleus.
MIN_RIM_D = 0.08  # Every cell keeps at least this rim of cytoplasm around its nucleus (thin rims are faint).


def cytoplasm_candidates(work_rgb: np.ndarray, nuclei: np.ndarray) -> np.ndarray:
    """(h, w, 3) uint8 RGB and (h, w) bool nuclei -> (h, w) bool pixels coloured like cytoplasm.

    The levels are the field's own: medians of blue minus red and of green over the background
    and over the red cells (stained objects that are not nuclei).
    """
    work_rgb = np.ascontiguousarray(work_rgb)
    objects = ruler.stained_objects(work_rgb)
    red_cells = objects & ~nuclei
    blue_minus_red = work_rgb[..., 2].astype(np.float32) - work_rgb[..., 0]
    green = work_rgb[..., 1].astype(np.float32)
    if not red_cells.any() or objects.all():
        return np.zeros(nuclei.shape, bool)
    score_cut = (np.median(blue_minus_red[red_cells]) + np.median(blue_minus_red[~objects])) / 2
    green_cut = (np.median(green[red_cells]) + np.median(green[~objects])) / 2
    return (blue_minus_red > score_cut) & (green < green_cut)


def grow_cells(work_rgb: np.ndarray, nucleus_labels: np.ndarray, red_cell_px: float) -> tuple[np.ndarray, np.ndarray]:
    """Grow labelled nuclei into whole cells.

    Args:
        work_rgb: (h, w, 3) uint8 RGB, the field at the working scale.
        nucleus_labels: (h, w) int32, 0 off nuclei, 1..n one label per nucleus.
        red_cell_px: the red-cell diameter D in these pixels.

    Returns:
        cell_labels: (h, w) int32 with the same labels, now covering each whole cell.
        nucleus_areas: (n + 1,) int64, each label's nucleus area in pixels (index 0 unused).
    """
    count = int(nucleus_labels.max())
    nucleus_areas = np.bincount(nucleus_labels.ravel(), minlength=count + 1)
    if count == 0:
        return nucleus_labels, nucleus_areas
    nuclei = nucleus_labels > 0
    reach = cv2.dilate(nuclei.astype(np.uint8), ruler.disc(MAX_CYTOPLASM_D * red_cell_px)) > 0
    rim = cv2.dilate(nuclei.astype(np.uint8), ruler.disc(MIN_RIM_D * red_cell_px)) > 0
    region = (rim | (reach & cytoplasm_candidates(work_rgb, nuclei))) | nuclei
    markers = nearest_nucleus(nucleus_labels)
    cells = np.zeros_like(nucleus_labels)
    for label in range(1, count + 1):
        own = markers == label  # The cell's share of the field; its hull stays inside it too.
        cells[_hull(_with_nucleus(own & region, nucleus_labels == label)) & own] = label
    return cells, nucleus_areas


def nearest_nucleus(nucleus_labels: np.ndarray) -> np.ndarray:
    """(h, w) int32 nucleus labels -> (h, w) int32, every pixel labelled as its nearest nucleus pixel.

    A Voronoi split between nuclei, which parts touching cells midway between their nuclei. (A
    watershed on the image's gradient let one nucleus flood the low-gradient background and another
    cell's pale cytoplasm before that cell's own seed crossed the strong edge around its nucleus.)
    """
    nuclei = nucleus_labels > 0
    _, nearest = cv2.distanceTransformWithLabels((~nuclei).astype(np.uint8), cv2.DIST_L2, 5,
                                                 labelType=cv2.DIST_LABEL_PIXEL)
    # Each nucleus pixel has its own index in `nearest`; map every index to that pixel's nucleus label.
    lookup = np.zeros(int(nearest.max()) + 1, np.int32)
    lookup[nearest[nuclei]] = nucleus_labels[nuclei]
    return lookup[nearest]


def _with_nucleus(cell: np.ndarray, nucleus: np.ndarray) -> np.ndarray:
    """The connected part of `cell` (h, w) bool that touches `nucleus`, with the nucleus itself."""
    cell = cell | nucleus
    _, labels = cv2.connectedComponents(cell.astype(np.uint8), connectivity=8)
    touching = np.unique(labels[nucleus])
    return np.isin(labels, touching[touching > 0])


def _hull(mask: np.ndarray) -> np.ndarray:
    """(h, w) bool -> (h, w) bool filled convex hull of the mask's pixels."""
    points = cv2.findNonZero(mask.astype(np.uint8))
    hull_mask = np.zeros(mask.shape, np.uint8)
    if points is not None:
        cv2.fillConvexPoly(hull_mask, cv2.convexHull(points), 1)
    return hull_mask > 0
