"""Synthetic smear fields for unit tests: white cells among red cells on a light background.

A field as a microscope camera shows a Romanowsky-stained smear: a light grey-blue background,
pink red cells with pale centres, and white cells (a lilac cytoplasm disc around a purple nucleus,
round or of 2-4 lobes). Every size is in units of the red-cell diameter `red_cell_px`, so the
same layout can be drawn at any magnification. The white cells' true boxes come back with it.

>>> field = draw_field(FieldLayout(white_cells=((200, 150, 1.6, 3),)), np.random.default_rng(0))
>>> field.image_rgb.shape, field.boxes[0]  # doctest: +SKIP
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

# Stain palette, RGB in [0, 255], after BCCD's medians (background, red cell, cytoplasm, nucleus).
BACKGROUND_RGB = (208, 212, 218)
RED_CELL_RGB = (196, 146, 150)
RED_CELL_CENTRE_RGB = (206, 178, 182)
CYTOPLASM_RGB = (190, 164, 204)
NUCLEUS_RGB = (96, 70, 170)


@dataclass(frozen=True)
class FieldLayout:
    """Where things lie, in pixels at `red_cell_px` (a field drawn at another scale is scaled whole).

    Attributes:
        size: (height, width) of the field in pixels.
        red_cell_px: the red-cell diameter D in pixels.
        white_cells: (centre x, centre y, diameter in D, nucleus) per cell; nucleus 0: a lymphocyte's,
            round, 0.85 of the cell's radius; 1: round, 0.7 of it; 2-4: that many lobes.
        red_cells: how many red cells to scatter (placed off the white cells).
    """

    size: tuple[int, int] = (480, 640)
    red_cell_px: float = 80.0
    white_cells: tuple[tuple[float, float, float, int], ...] = ()
    red_cells: int = 24
    stained: bool = field(default=True)


@dataclass(frozen=True)
class SyntheticField:
    """A drawn field: `image_rgb` (H, W, 3) uint8 RGB and the white cells' (x0, y0, x1, y1) boxes, x1/y1 exclusive."""

    image_rgb: np.ndarray
    boxes: tuple[tuple[int, int, int, int], ...]


def draw_field(layout: FieldLayout, rng: np.random.Generator) -> SyntheticField:
    """Draw a field: background, red cells (off the white cells), white cells, mild blur and noise."""
    height, width = layout.size
    image = np.empty((height, width, 3), np.float32)
    image[:] = BACKGROUND_RGB
    diameter = layout.red_cell_px
    for centre in _red_cell_centres(layout, rng):
        _red_cell(image, centre, diameter * rng.uniform(0.9, 1.1))
    boxes = tuple(_white_cell(image, (x, y), size * diameter, lobes, rng) for x, y, size, lobes in layout.white_cells)
    image = cv2.GaussianBlur(image, (0, 0), 0.02 * diameter) + rng.normal(0, 2.0, image.shape).astype(np.float32)
    image_rgb = np.clip(image, 0, 255).astype(np.uint8)
    if not layout.stained:
        image_rgb = cv2.cvtColor(cv2.cvtColor(image_rgb, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    return SyntheticField(image_rgb, tuple(_clipped(box, width, height) for box in boxes))


def _red_cell_centres(layout: FieldLayout, rng: np.random.Generator) -> list[tuple[float, float]]:
    """Up to `layout.red_cells` centres, none within a red cell's reach of a white cell or of one another."""
    height, width = layout.size
    diameter = layout.red_cell_px
    centres: list[tuple[float, float]] = []
    for _ in range(layout.red_cells * 20):
        if len(centres) == layout.red_cells:
            break
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        clear_of_white = all(np.hypot(x - wx, y - wy) > (size / 2 + 0.6) * diameter for wx, wy, size, _ in layout.white_cells)
        clear_of_red = all(np.hypot(x - cx, y - cy) > 0.85 * diameter for cx, cy in centres)
        if clear_of_white and clear_of_red:
            centres.append((x, y))
    return centres


def _red_cell(image: np.ndarray, centre: tuple[float, float], diameter: float) -> None:
    """A pink disc with a pale centre (central pallor), drawn into `image` (H, W, 3) float32 RGB."""
    point = (int(round(centre[0])), int(round(centre[1])))
    cv2.circle(image, point, int(round(diameter / 2)), RED_CELL_RGB, -1, cv2.LINE_AA)
    cv2.circle(image, point, int(round(diameter / 5)), RED_CELL_CENTRE_RGB, -1, cv2.LINE_AA)


def _white_cell(image: np.ndarray, centre: tuple[float, float], diameter: float, lobes: int,
                rng: np.random.Generator) -> tuple[int, int, int, int]:
    """A lilac cytoplasm disc with a purple nucleus of `lobes` lobes; returns the disc's box."""
    x, y = centre
    radius = diameter / 2
    cv2.circle(image, (int(round(x)), int(round(y))), int(round(radius)), CYTOPLASM_RGB, -1, cv2.LINE_AA)
    if lobes <= 1:
        share = 0.85 if lobes == 0 else 0.7
        cv2.circle(image, (int(round(x)), int(round(y))), int(round(radius * share)), NUCLEUS_RGB, -1, cv2.LINE_AA)
    else:
        start = rng.uniform(0, 2 * np.pi)
        for lobe in range(lobes):
            angle = start + 2 * np.pi * lobe / lobes
            lobe_centre = (int(round(x + 0.35 * radius * np.cos(angle))), int(round(y + 0.35 * radius * np.sin(angle))))
            cv2.circle(image, lobe_centre, int(round(radius * 0.3)), NUCLEUS_RGB, -1, cv2.LINE_AA)
    return (int(np.floor(x - radius)), int(np.floor(y - radius)), int(np.ceil(x + radius)) + 1, int(np.ceil(y + radius)) + 1)


def _clipped(box: tuple[int, int, int, int], width: int, height: int) -> tuple[int, int, int, int]:
    return max(0, box[0]), max(0, box[1]), min(width, box[2]), min(height, box[3])
