"""Cut found white cells out as C-NMC did: the cell alone, on black, cropped square and centred.

C-NMC 2019's images are single segmented cells whose background the dataset set to zero. A cell
found in a smear field (`core.imaging.fields.finder`) or in a digital morphology analyser's crop (one
white cell on a light background, red cells at its edges) is made to look the same here, so that
`core.imaging.prepare.prepare_cell` takes it like any other cell.

>>> found = find_white_cells(field_rgb)  # doctest: +SKIP
>>> cells_rgb = [cut_out(field_rgb, cell) for cell in found.whole_cells]  # doctest: +SKIP
"""
from __future__ import annotations

import numpy as np

from core.errors import PreprocessingError
from core.imaging.fields.finder import FoundCell, find_white_cells

# Black margin around the cell on each side, as a share of the cell's longer side.
CUT_OUT_MARGIN = 0.1


def cut_out(field_rgb: np.ndarray, cell: FoundCell) -> np.ndarray:
    """One found cell on black, centred in a square.

    Args:
        field_rgb: (H, W, 3) uint8 RGB, the image the cell was found in.
        cell: a `FoundCell` of that image (its box and mask in the image's pixels).

    Returns:
        (S, S, 3) uint8 RGB, S = the box's longer side * (1 + 2 * CUT_OUT_MARGIN): the cell's pixels,
        every other pixel 0, the box centred.
    """
    x0, y0, x1, y1 = cell.box
    height, width = y1 - y0, x1 - x0
    side = int(round(max(height, width) * (1 + 2 * CUT_OUT_MARGIN)))
    canvas = np.zeros((side, side, 3), np.uint8)
    top, left = (side - height) // 2, (side - width) // 2
    patch = field_rgb[y0:y1, x0:x1]
    canvas[top:top + height, left:left + width][cell.mask] = patch[cell.mask]
    return canvas


def central_cell(found: tuple[FoundCell, ...], shape: tuple[int, int]) -> FoundCell:
    """The found cell whose box centre is nearest the image centre (an analyser crop's own cell).

    Raises:
        PreprocessingError: no cell was found.
    """
    if not found:
        raise PreprocessingError(
            "No white cell was found in this crop. Upload a crop of one stained white cell, "
            "with its nucleus in view, or a photo of the smear field."
        )
    centre_y, centre_x = shape[0] / 2, shape[1] / 2

    def distance(cell: FoundCell) -> float:
        x0, y0, x1, y1 = cell.box
        return float(np.hypot((x0 + x1) / 2 - centre_x, (y0 + y1) / 2 - centre_y))

    return min(found, key=distance)


def segment_analyser_crop(crop_rgb: np.ndarray) -> np.ndarray:
    """An analyser's single-cell crop (one white cell on a light background, red cells at its edges) -> the cell on black.

    The same finder as for fields: the crop's red cells, even cut by its edges, give the ruler.
    The cell nearest the centre is the analyser's; it is kept even when it touches the border
    (analysers centre their cell, and a slightly cut cytoplasm still gives a usable cut-out).

    Args:
        crop_rgb: (H, W, 3) uint8 RGB.

    Returns:
        (S, S, 3) uint8 RGB, the cell on black, as `cut_out` makes it.

    Raises:
        PreprocessingError: no white cell was found, or the crop is unstained, over-exposed or blurred.
    """
    found = find_white_cells(crop_rgb)
    return cut_out(crop_rgb, central_cell(found.cells, crop_rgb.shape[:2]))
