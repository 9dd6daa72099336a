"""Grow each white-cell nucleus of a smear field into its whole cell (nucleus and cytoplasm).

A white cell's cytoplasm is darker than the background (it absorbs light) yet not pink like a red
cell: its blue minus red lies above the midpoint between the red cells' and the background's,
its green below the midpoint between the background's and the red cells'. Those levels are
measured on each field. Candidate pixels within `MAX_CYTOPLASM_D` red-cell diameters of a
nucleus are shared out between nuclei by a watershed seeded on them, and each cell is smoothed
to its convex hull (white cells are round, and the hull bridges pale gaps in the cytoplasm).
"""
from __future__ import annotations

import cv2
import numpy as np

from core.imaging import field_scale

MAX_CYTOPLASM_D = 0.6  # How far (in red-cell diameters D) the cell may reach beyond its nucleus.
MIN_RIM_D = 0.08  # Every cell keeps at least this rim of cytoplasm around its nucleus (thin rims are faint).


def cytoplasm_candidates(work_rgb: np.ndarray, nuclei: np.ndarray) -> np.ndarray:
    """(h, w, 3) uint8 RGB and (h, w) bool nuclei -> (h, w) bool pixels coloured like cytoplasm.

    The levels are the field's own: medians of blue minus red and of green over the background
    and over the red cells (stained objects that are not nuclei).
    """
    work_rgb = np.ascontiguousarray(work_rgb)
    objects = field_scale.stained_objects(work_rgb)
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
    reach = cv2.dilate(nuclei.astype(np.uint8), _disc(MAX_CYTOPLASM_D * red_cell_px)) > 0
    rim = cv2.dilate(nuclei.astype(np.uint8), _disc(MIN_RIM_D * red_cell_px)) > 0
    region = (rim | (reach & cytoplasm_candidates(work_rgb, nuclei))) | nuclei
    # Every pixel goes to one nucleus, split along the image's edges where two cells meet; the
    # cell is then its share of the region. (A seed for the outside would flood pale cytoplasm
    # before the nucleus' own seed crossed the strong edge around the nucleus.)
    markers = nucleus_labels.astype(np.int32).copy()
    gradient = cv2.morphologyEx(cv2.cvtColor(work_rgb, cv2.COLOR_RGB2GRAY), cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
    cv2.watershed(cv2.cvtColor(gradient, cv2.COLOR_GRAY2BGR), markers)
    cells = np.zeros_like(nucleus_labels)
    for label in range(1, count + 1):
        cells[_hull(_with_nucleus((markers == label) & region, nucleus_labels == label)) & (cells == 0)] = label
    return cells, nucleus_areas


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


def _disc(radius_px: float) -> np.ndarray:
    """A filled disc structuring element of the given radius (at least 1 px), uint8."""
    radius = max(1, round(radius_px))
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
