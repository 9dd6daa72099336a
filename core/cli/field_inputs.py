"""One input file of `python -m core.predict` -> the cells it holds, each ready for the one answering path.

A C-NMC-like image (one cell on black) is one cell, named by its path. A smear field or an
analyser's crop (a light background: `core.imaging.fields.cells.looks_like_field`) holds one cell
per whole white cell found in it, named `FIELD#k` (k from 1, in reading order), each keeping its
field's path and its box in the original photo's pixels. A found cell that is plainly not lymphoid
(`core.imaging.fields.lineage`) carries that as a scope finding, so the one decision refers it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.imaging.prepare import PreparedCell
from core.imaging.stain import ReinhardNormaliser


@dataclass(frozen=True)
class PreparedInput:
    """One cell of an input file, before the model.

    Attributes:
        name: the file's path, or `FIELD#k` for the k-th whole white cell of a field.
        cell: the cell's stages and scope check (`core.imaging.prepare.prepare_cell`).
        field: the field's path for a cell found in a field, else "".
        box: (x0, y0, x1, y1) in the original photo's pixels (x1, y1 exclusive) for a field's cell, else None.
        stain: "reinhard" when the cell was moved to a reference stain before preparation, else "".
    """

    name: str
    cell: PreparedCell
    field: str = ""
    box: tuple[int, int, int, int] | None = None
    stain: str = ""


def prepared_inputs(path: Path, image_size: int, normaliser: ReinhardNormaliser | None = None) -> list[PreparedInput]:
    """Decode one file and prepare its cell, or every whole white cell of a field.

    With `normaliser`, each cell (a plain cell, or a field's cut-out after segmentation) is moved to
    its reference stain before preparation, and the result says so.

    Raises:
        LeukemiaAppError: the file cannot be read, no cell can be found in it, or the field holds no
            whole white cell (or is unstained, over-exposed or out of focus).
    """
    from core.imaging.decode import load_image
    from core.imaging.fields.cells import field_cells, looks_like_field, original_size, scaled_box
    from core.imaging.fields.lineage import non_lymphoid_reasons
    from core.imaging.prepare import prepare_cell

    image_rgb = load_image(path).image_rgb
    stain = "" if normaliser is None else "reinhard"
    if not looks_like_field(image_rgb):
        cell_rgb = image_rgb if normaliser is None else normaliser.transform(image_rgb)
        return [PreparedInput(str(path), prepare_cell(cell_rgb, image_size), stain=stain)]
    cells, _ = field_cells(image_rgb, normaliser)
    size = original_size(path, image_rgb.shape[:2])
    return [PreparedInput(f"{path}#{cell.number}", _with_lineage(prepare_cell(cell.cell_rgb, image_size), non_lymphoid_reasons(cell.found)),
                          str(path), scaled_box(cell.found.box, image_rgb.shape[:2], size), stain) for cell in cells]


def _with_lineage(prepared: PreparedCell, reasons: tuple[str, ...]) -> PreparedCell:
    """The prepared cell with the signs that it is not lymphoid added to its scope findings (so it is referred)."""
    return PreparedCell(prepared.stages, prepared.scope_reasons + reasons)
