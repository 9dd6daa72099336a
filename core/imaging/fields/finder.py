"""Find the white cells in a photo of a stained blood smear field, by classical image analysis.

No trained detector: in a Romanowsky-stained smear (Wright, Giemsa, May-Grünwald-Giemsa) a white
cell's nucleus is the only large purple-blue object; red cells are pink and the background light.

Steps, every size in units of the field's red-cell diameter D (`core.imaging.fields.ruler`); the
over-exposure and focus checks run first (`core.imaging.fields.quality`), steps 2-4 live in
`core.imaging.fields.nuclei`:
1. the field is resized so that D is `WORK_RED_CELL_PX` pixels (any magnification looks the same);
2. the nucleus map is blue minus red (purple-blue nuclei high, pink red cells low), thresholded by
   Otsu's method over its upper half and never under the background's level plus `NUCLEUS_CONTRAST`;
3. the lobes of one nucleus are joined (closing by a disc of `LOBE_GAP_D` D) and objects smaller
   than `MIN_NUCLEUS_AREA_D2` D² (platelets, debris) are dropped;
4. touching nuclei are split by a watershed on their distance transform, one seed per peak that is
   at least `MIN_SEED_DEPTH_D` D deep and `MIN_SEED_SPACING_D` D from a deeper one, and parts that
   meet at a wide neck (`NECK_RATIO`) merged again (the lobes of one nucleus);
5. each nucleus grows into its cytoplasm (`core.imaging.fields.cytoplasm`), and a cell that touches the
   image border is marked `cut_by_border` (it is counted, never cut out or classified); a cell under
   `MIN_CELL_AREA_D2` D² is dropped.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from core.errors import PreprocessingError
from core.imaging.fields import quality, ruler
from core.imaging.fields.cytoplasm import grow_cells
from core.imaging.fields.nuclei import WORK_RED_CELL_PX, nucleus_mask, nucleus_pixels, nucleus_shape, split_touching

MAX_FIELD_SIDE = 2048  # Longer photos are shrunk to this before the red cells are measured (bounded memory).
# A found cell smaller than this (in D²) is a sliver the watershed cut off a nucleus, or debris. A small
# lymphocyte is about 1 D across (0.79 D²); the smallest white cell found in BCCD covers 0.71 D², the
# slivers 0.15-0.21 D².
MIN_CELL_AREA_D2 = 0.5


@dataclass(frozen=True)
class FoundCell:
    """One white cell found in a field.

    Attributes:
        box: (x0, y0, x1, y1) in the given image's pixels, x right, y down, x1 and y1 exclusive.
        mask: (y1 - y0, x1 - x0) bool, True on the cell (nucleus and cytoplasm) within `box`.
        nucleus_fraction: the nucleus' share of the cell's area, in (0, 1].
        cut_by_border: True when the cell touches the image border (part of it lies outside).
        nucleus_solidity: the nucleus' area over its convex hull's (`core.imaging.fields.nuclei.nucleus_shape`).
        nucleus_lobes: the nucleus' separate pieces (1 for a round nucleus).
    """

    box: tuple[int, int, int, int]
    mask: np.ndarray
    nucleus_fraction: float
    cut_by_border: bool
    nucleus_solidity: float = 1.0
    nucleus_lobes: int = 1


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
    _check_rgb(field_rgb)
    quality.check_exposure(field_rgb)
    bounded_rgb, bound = _bounded(field_rgb)
    diameter = ruler.red_cell_diameter(ruler.stained_objects(bounded_rgb)) / bound
    scale = WORK_RED_CELL_PX / diameter  # From the given image's pixels to the working scale's.
    work_rgb = _resized(bounded_rgb, scale / bound)
    quality.check_focus(work_rgb)
    pixels = nucleus_pixels(work_rgb)
    labels, nucleus_areas = grow_cells(work_rgb, split_touching(nucleus_mask(pixels)), WORK_RED_CELL_PX)
    found = (_found_cell(labels == label, nucleus_areas[label], scale, field_rgb.shape[:2], pixels)
             for label in range(1, int(labels.max()) + 1))
    cells = [cell for cell in found if cell is not None]
    cells.sort(key=lambda cell: (cell.box[1] // max(1, round(diameter)), cell.box[0]))
    return FieldCells(tuple(cells), diameter)


def _check_rgb(field_rgb: np.ndarray) -> None:
    """Refuse anything but an (H, W, 3) uint8 array of at least 16 x 16 pixels."""
    if field_rgb.ndim != 3 or field_rgb.shape[2] != 3 or field_rgb.dtype != np.uint8 or min(field_rgb.shape[:2]) < 16:
        raise PreprocessingError(
            f"Expected a field as an RGB uint8 image of shape (height, width, 3), at least 16 px a side; got "
            f"{field_rgb.dtype} {field_rgb.shape}. Load images with core.imaging.decode.load_image first."
        )


def _bounded(field_rgb: np.ndarray) -> tuple[np.ndarray, float]:
    """The field shrunk so that its longer side is at most `MAX_FIELD_SIDE` px, and the factor used (<= 1)."""
    factor = min(1.0, MAX_FIELD_SIDE / max(field_rgb.shape[:2]))
    return (field_rgb, 1.0) if factor == 1.0 else (_resized(field_rgb, factor), factor)


def _resized(image_rgb: np.ndarray, scale: float) -> np.ndarray:
    """(H, W, 3) uint8 resized by `scale` (area averaging when shrinking)."""
    size = (max(1, round(image_rgb.shape[1] * scale)), max(1, round(image_rgb.shape[0] * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.resize(image_rgb, size, interpolation=interpolation)


def _found_cell(work_mask: np.ndarray, nucleus_area: int, scale: float, shape: tuple[int, int],
                nucleus_pixels: np.ndarray) -> FoundCell | None:
    """One cell's (h, w) bool working-scale mask -> a `FoundCell` in the original image's pixels; None if too small.

    `nucleus_pixels` is the (h, w) bool map of nucleus-coloured pixels, lobes apart, for the nucleus' shape.
    """
    ys, xs = np.nonzero(work_mask)
    if ys.size < MIN_CELL_AREA_D2 * WORK_RED_CELL_PX ** 2:
        return None
    height, width = shape
    x0, y0 = max(0, int(xs.min() / scale)), max(0, int(ys.min() / scale))
    x1, y1 = min(width, int(np.ceil((xs.max() + 1) / scale))), min(height, int(np.ceil((ys.max() + 1) / scale)))
    crop = work_mask[ys.min():ys.max() + 1, xs.min():xs.max() + 1].astype(np.float32)
    # Linear interpolation and a half-way cut give a smooth outline rather than working-scale steps.
    mask = cv2.resize(crop, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR) >= 0.5
    touches = bool(ys.min() == 0 or xs.min() == 0 or ys.max() == work_mask.shape[0] - 1 or xs.max() == work_mask.shape[1] - 1)
    solidity, lobes = nucleus_shape(nucleus_pixels & work_mask)
    return FoundCell((x0, y0, x1, y1), mask, min(1.0, nucleus_area / ys.size), touches, solidity, lobes)
