"""One decoded image -> the cells it holds, each ready for the one answering path, with where it lies.

A C-NMC-like image (one cell on black) is one cell. A smear field or an analyser's crop (a light
border: `core.imaging.fields.cells.looks_like_field`) holds one cell per whole white cell found in
it, numbered in reading order, each with its box and outline in the original photo's pixels; a
found cell that is plainly not lymphoid (`core.imaging.fields.lineage`) carries that as a scope
finding, so the one decision refers it. Classify, the Patient page and `python -m core.predict` all
take an image's cells from here.

>>> cells, cut_by_border = cells_of_image(load_image(path), image_size=224)  # doctest: +SKIP
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from core.imaging.decode import DecodedImage
from core.imaging.prepare import PreparedCell, prepare_cell
from core.imaging.stain import ReinhardNormaliser

REINHARD = "reinhard"  # the name every answer records for a cell moved to a reference stain


def stain_name(normaliser: ReinhardNormaliser | None) -> str:
    """What an answer records of the stain: `REINHARD` for a cell moved to a reference stain, "" for none."""
    return "" if normaliser is None else REINHARD


def cell_name(image: str, number: int) -> str:
    """A cell's name on every surface: the image's own, or `IMAGE#k` for a field's k-th whole white cell (k >= 1)."""
    return f"{image}#{number}" if number > 0 else image


def box_text(box: tuple[int, int, int, int] | None) -> str:
    """A found cell's box as every CSV writes it: "x0 y0 x1 y1" in the photo's pixels; "" for no box (a plain cell)."""
    return "" if box is None else " ".join(str(edge) for edge in box)


@dataclass(frozen=True)
class CellPlace:
    """Where a cell found in a field lies.

    Attributes:
        field: the field's file name, as given (untrusted text).
        number: k, the cell's number in the field (from 1, in reading order).
        box: (x0, y0, x1, y1) in the photo's pixels, x right, y down, x1 and y1 exclusive.
    """

    field: str
    number: int
    box: tuple[int, int, int, int]

    @property
    def box_text(self) -> str:
        """The box as the CSVs write it: "x0 y0 x1 y1"."""
        return box_text(self.box)


@dataclass(frozen=True)
class ImageCell:
    """One cell of an image, before the model.

    Attributes:
        cell: its stages and scope check (`core.imaging.prepare.prepare_cell`), lineage findings included.
        number: k (from 1) of a field's k-th whole white cell; 0 when the image is itself one cell.
        box: (x0, y0, x1, y1) in the original photo's pixels (x right, y down, x1 and y1 exclusive)
            for a field's cell, else None.
        outline: (N, 2) int32 (x, y) polygon around the cell in the original photo's pixels, or None.
        stain: `REINHARD` when the cell was moved to a reference stain before preparation, else "".
        unnormalised_rgb: (S, S, 3) uint8 RGB, the cell on black before stain normalisation (None
            when it was not normalised): the stage the pages show beside the normalised cell.
        cell_rgb: (H, W, 3) uint8 RGB, the image that was prepared: the cell on black (a field's
            cut-out), in the reference stain when normalised; what Explain is given.
    """

    cell: PreparedCell
    number: int = 0
    box: tuple[int, int, int, int] | None = None
    outline: np.ndarray | None = None
    stain: str = ""
    unnormalised_rgb: np.ndarray | None = None
    cell_rgb: np.ndarray | None = None

    @property
    def in_field(self) -> bool:
        return self.number > 0


def cells_of_image(decoded: DecodedImage, image_size: int,
                   normaliser: ReinhardNormaliser | None = None) -> tuple[list[ImageCell], int]:
    """Every cell of a decoded image, prepared, and how many of a field's cells the border cut (left out).

    With `normaliser`, each cell (a plain cell, or a field's cut-out after segmentation) is moved to
    its reference stain before preparation, and the result says so.

    Raises:
        LeukemiaAppError: no cell can be found in it, or the field holds no whole white cell (or is
            unstained, over-exposed or out of focus); the message says which.
    """
    from core.imaging.fields.cells import field_cells, looks_like_field, scaled_box
    from core.imaging.fields.lineage import non_lymphoid_reasons

    image_rgb = decoded.image_rgb
    stain = stain_name(normaliser)
    if not looks_like_field(image_rgb):
        cell_rgb = image_rgb if normaliser is None else normaliser.transform(image_rgb)
        unnormalised = None if normaliser is None else image_rgb
        return [ImageCell(prepare_cell(cell_rgb, image_size), stain=stain, unnormalised_rgb=unnormalised, cell_rgb=cell_rgb)], 0
    found, cut_by_border = field_cells(image_rgb, normaliser)
    shape, size = image_rgb.shape[:2], decoded.original_size
    cells = [ImageCell(with_findings(prepare_cell(cell.cell_rgb, image_size), non_lymphoid_reasons(cell.found)),
                       cell.number, scaled_box(cell.found.box, shape, size), scaled_outline(cell.found, shape, size),
                       stain, cell.unnormalised_rgb, cell.cell_rgb)
             for cell in found]
    return cells, cut_by_border


def with_findings(prepared: PreparedCell, reasons: tuple[str, ...]) -> PreparedCell:
    """The prepared cell with more scope findings (signs that it is not lymphoid), so the decision refers it."""
    return replace(prepared, scope_reasons=prepared.scope_reasons + reasons)


def scaled_outline(found, decoded_shape: tuple[int, int], original_size: tuple[int, int]) -> np.ndarray:
    """A found cell's outer contour, (N, 2) int32 (x, y) in the original photo's pixels.

    Args:
        found: a `core.imaging.fields.finder.FoundCell` (its mask lies within its box of the decoded image).
        decoded_shape: (height, width) of the decoded image.
        original_size: (width, height) of the photo as shown.
    """
    contours, _ = cv2.findContours(found.mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    contour = max(contours, key=cv2.contourArea).reshape(-1, 2).astype(np.float64)
    x0, y0 = found.box[:2]
    scale = np.array([original_size[0] / decoded_shape[1], original_size[1] / decoded_shape[0]])
    return np.round((contour + (x0, y0)) * scale).astype(np.int32)
