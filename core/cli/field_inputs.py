"""One input file of `python -m core.predict` -> the cells it holds, each ready for the one answering path.

A C-NMC-like image (one cell on black) is one cell, named by its path. A smear field or an
analyser's crop holds one cell per whole white cell found in it (`core.imaging.image_cells`, the
pages' path too), named `FIELD#k` (k from 1, in reading order), each keeping its field's path and
its box in the original photo's pixels.
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
    """Decode one file and prepare its cell, or every whole white cell of a field (`core.imaging.image_cells`).

    With `normaliser`, each cell (a plain cell, or a field's cut-out after segmentation) is moved to
    its reference stain before preparation, and the result says so.

    Raises:
        LeukemiaAppError: the file cannot be read, no cell can be found in it, or the field holds no
            whole white cell (or is unstained, over-exposed or out of focus).
    """
    from core.imaging.decode import load_image
    from core.imaging.image_cells import cell_name, cells_of_image

    cells, _ = cells_of_image(load_image(path), image_size, normaliser)
    return [PreparedInput(cell_name(str(path), cell.number), cell.cell,
                          str(path) if cell.in_field else "", cell.box, cell.stain) for cell in cells]
