"""A decoded image that is a smear field (or an analyser's crop) -> its white cells, each cut out as C-NMC does.

How a field is told from a C-NMC cell: C-NMC's images are segmented cells on a black background
(exactly 0, the dataset's own segmentation), so their border is black; a microscope photo of a
smear or an analyser's crop has a light background, so its border is light. An image whose
border's median grey level is at least `FIELD_BORDER_LEVEL` is a field; any other image (one
cell-like object on black, for example) stays a plain cell for `core.imaging.prepare.prepare_cell`.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from core import config
from core.errors import PreprocessingError
from core.imaging.fields.crops import cut_out
from core.imaging.fields.finder import FoundCell, find_white_cells
from core.imaging.scope import border_pixels
from core.imaging.stain import ReinhardNormaliser

# Median grey level (0-255) of the image's border from which it counts as a field. C-NMC cells: 0
# (the 251 real cells of shared/data/real_cells and the sample cell: every border median is 0); the 200
# BCCD fields: 161 to 197.
FIELD_BORDER_LEVEL = 96


@dataclass(frozen=True)
class FieldCell:
    """One whole white cell of a field: where it is and its cut-out.

    Attributes:
        number: 1-based, in reading order (top to bottom by rows of about a red cell, then left to right).
        found: the `FoundCell` (box and mask in the decoded image's pixels).
        cell_rgb: (S, S, 3) uint8 RGB, the cell on black (`core.imaging.fields.crops.cut_out`), in the
            reference stain when a normaliser was given.
        unnormalised_rgb: the same cut-out before stain normalisation; None when none was asked for.
    """

    number: int
    found: FoundCell
    cell_rgb: np.ndarray
    unnormalised_rgb: np.ndarray | None = None


def looks_like_field(image_rgb: np.ndarray) -> bool:
    """(H, W, 3) uint8 RGB -> True when its border is light (a smear field or an analyser's crop)."""
    grey = cv2.cvtColor(image_rgb, cv2.COLOR_RGB2GRAY)
    return float(np.median(border_pixels(grey))) >= FIELD_BORDER_LEVEL


def field_cells(field_rgb: np.ndarray, normaliser: ReinhardNormaliser | None = None) -> tuple[list[FieldCell], int]:
    """Every whole white cell of a field, cut out, and how many cells the border cut (left out).

    Args:
        field_rgb: (H, W, 3) uint8 RGB.
        normaliser: when given, each cut-out is moved to its reference stain (after segmentation).

    Raises:
        PreprocessingError: no whole white cell was found (the message says whether some were cut
            by the border), more than `config.MAX_FIELD_CELLS` were, or the field is unstained,
            over-exposed or out of focus.
    """
    found = find_white_cells(field_rgb)
    whole = found.whole_cells
    cut_by_border = len(found.cells) - len(whole)
    if not whole:
        raise PreprocessingError(no_whole_cell_message(cut_by_border))
    if len(whole) > config.MAX_FIELD_CELLS:  # Before any cut-out: a crowded photo costs no more than the bound.
        raise PreprocessingError(f"{len(whole)} white cells were found in this field, more than the "
                                 f"{config.MAX_FIELD_CELLS} read from one photo. Crop it into smaller fields.")
    cut_outs = [cut_out(field_rgb, cell) for cell in whole]
    if normaliser is None:
        return [FieldCell(number, cell, cell_rgb) for number, (cell, cell_rgb) in enumerate(zip(whole, cut_outs), start=1)], cut_by_border
    return [FieldCell(number, cell, normaliser.transform(cell_rgb), cell_rgb)
            for number, (cell, cell_rgb) in enumerate(zip(whole, cut_outs), start=1)], cut_by_border


def no_whole_cell_message(cut_by_border: int) -> str:
    """The sentence for a field without a whole white cell; `cut_by_border` cells were left out."""
    verb = "was" if cut_by_border == 1 else "were"
    beside = f" ({cut_by_border} cut by the image's edge {verb} left out)" if cut_by_border else ""
    return (f"No whole white cell was found in this field{beside}. Move the slide so that a white cell "
            "lies wholly inside the picture and take the photo again.")


def scaled_box(box: tuple[int, int, int, int], decoded_shape: tuple[int, int],
               original_size: tuple[int, int]) -> tuple[int, int, int, int]:
    """A box in the decoded (maybe downscaled) image's pixels -> the original photo's pixels.

    Args:
        box: (x0, y0, x1, y1), x1 and y1 exclusive, in the decoded image.
        decoded_shape: (height, width) of the decoded image.
        original_size: (width, height) of the original photo, as its header gives it.
    """
    scale_x, scale_y = original_size[0] / decoded_shape[1], original_size[1] / decoded_shape[0]
    x0, y0, x1, y1 = box
    return (int(np.floor(x0 * scale_x)), int(np.floor(y0 * scale_y)),
            min(original_size[0], int(np.ceil(x1 * scale_x))), min(original_size[1], int(np.ceil(y1 * scale_y))))
