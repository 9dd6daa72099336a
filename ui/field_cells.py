"""A smear field (or an analyser's crop) uploaded on Classify -> its whole white cells, measured once, answered each run.

What an image holds is `core.imaging.image_cells.cells_of_image`'s to say (a light border: a field).
A field's cells are measured in float32 batches (`core.model.answering.measure`, one pass for up to
`classifier.many_batch_size` cells, not one pass per cell) and kept in the per-image analysis cache
(`ui.image_cache`, byte-bounded, keyed on the field's content, the model and the stain); every run
then settles and assesses the cells the user kept (`core.model.answering.assess_settled`), the other
half of the one answering path. A field's cells carry no 8-view uncertainty: it would take a pass per cell.
Nothing here draws: `ui.field_widgets` does.
"""
from __future__ import annotations

import logging
from collections.abc import Collection
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np

from core.errors import LeukemiaAppError
from core.imaging.image_cells import cell_name, stain_name
from core.imaging.stain import ReinhardNormaliser
from core.model.analysis import CellAnalysis
from core.model.answering import assess_settled, measure
from ui import image_cache
from ui.cache import content_digest, model_key
from ui.outcomes import UploadOutcome

LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class MeasuredCell:
    """One whole white cell of a field, measured: its number, where it lies, its cut-outs and the model's values.

    Attributes:
        number: k, from 1, in reading order (the cell is named `NAME#k`).
        box: (x0, y0, x1, y1) in the original photo's pixels, x1 and y1 exclusive.
        outline: (N, 2) int32 (x, y) polygon in the original photo's pixels.
        analysis: the model's values (BATCHED, no 8 views), stages and scope findings (lineage included).
        cell_rgb: (S, S, 3) uint8 RGB, the cut-out on black the stages were prepared from (normalised when asked).
        unnormalised_rgb: the same cut-out before stain normalisation, or None when none was asked for.
    """

    number: int
    box: tuple[int, int, int, int]
    outline: np.ndarray
    analysis: CellAnalysis
    cell_rgb: np.ndarray
    unnormalised_rgb: np.ndarray | None = None


@dataclass(frozen=True)
class FieldOutcome:
    """A field upload: the field as decoded ((H, W, 3) uint8 RGB), its photo's (width, height), its measured cells."""

    name: str
    digest: str
    field_rgb: np.ndarray
    original_size: tuple[int, int]
    cells: tuple[MeasuredCell, ...]
    cut_by_border: int
    stain: str = ""  # REINHARD when every cell was moved to the model's training stain
    notes: tuple[str, ...] = ()


def is_field(data: bytes, name: str) -> bool:
    """Whether the upload is a smear field or an analyser's crop; False when it cannot be decoded (Classify says why)."""
    from core.imaging.fields.cells import looks_like_field

    new = image_cache.upload_caches()["decoded"].get((content_digest(data), name)) is None
    try:
        with image_cache.image_turn(f"'{name}'") if new else nullcontext():
            return looks_like_field(image_cache.decode_upload(data, name).image_rgb)
    except LeukemiaAppError:
        return False


def measure_cells(decoded, classifier, normaliser: ReinhardNormaliser | None) -> tuple[tuple[MeasuredCell, ...], int]:
    """A decoded field's whole white cells, each measured in float32 batches, and how many the border cut.

    Raises:
        LeukemiaAppError: no whole white cell, or the field is unstained, over-exposed or out of focus.
    """
    from core.imaging.image_cells import cells_of_image

    cells, cut_by_border = cells_of_image(decoded, classifier.image_size, normaliser)
    analyses = measure(classifier, [cell.cell for cell in cells])
    return tuple(MeasuredCell(cell.number, cell.box, cell.outline, analysis, cell.cell_rgb, cell.unnormalised_rgb)
                 for cell, analysis in zip(cells, analyses)), cut_by_border


def process_field(name: str, data: bytes, classifier, normaliser: ReinhardNormaliser | None = None) -> FieldOutcome | UploadOutcome:
    """A field upload measured (from the cache, or in a turn); an `UploadOutcome` with the reason when it fails. Never raises."""
    digest = content_digest(data)
    stain = stain_name(normaliser)
    key = (digest, model_key(classifier), "field", stain)
    cache = image_cache.upload_caches()["analysis"]
    try:
        with image_cache.image_turn(f"'{name}'") if cache.get(key) is None else nullcontext():
            decoded = image_cache.decode_upload(data, name)
            cells, cut_by_border = cache.get_or_compute(key, lambda: measure_cells(decoded, classifier, normaliser))
    except LeukemiaAppError as error:
        return UploadOutcome(name, digest, error=str(error) if name in str(error) else f"{name}: {error}")
    except Exception:  # Last resort: a readable line here, the traceback in the server log.
        LOGGER.exception("Unexpected failure while finding the cells of %r", name)
        return UploadOutcome(name, digest, error=f"{name} could not be processed because of an unexpected problem "
                                                 "(details are in the server log). Try another file.")
    return FieldOutcome(name, digest, decoded.image_rgb, decoded.original_size, cells, cut_by_border, stain,
                        tuple(decoded.warnings))


def cell_digest(field_digest: str, number: int, stain: str) -> str:
    """The key a field's cell goes by in the caches and on Explain (Classify's and the Patient page's alike): the
    field's SHA-256, the cell's number and its stain."""
    return f"{field_digest}#{number}" + (f":{stain}" if stain else "")


def answer_field(field: FieldOutcome, left_out: Collection[int], classifier, error_rate: float) -> list[UploadOutcome]:
    """The cells the user kept, settled and assessed through the one path, each an `UploadOutcome` named `NAME#k`."""
    kept = [cell for cell in field.cells if cell.number not in left_out]
    if not kept:
        return []

    def inputs(positions) -> np.ndarray:  # (k, S, S, 3) uint8 RGB, for the few cells `settle` runs again
        return np.stack([kept[position].analysis.stages.model_input for position in positions])

    settled, assessments = assess_settled(classifier, [cell.analysis for cell in kept], inputs, error_rate)
    return [UploadOutcome(cell_name(field.name, cell.number), cell_digest(field.digest, cell.number, field.stain), cell.cell_rgb, analysis,
                          field.notes, assessment=assessment, field=field.name, number=cell.number, box=cell.box,
                          stain=field.stain, unnormalised_rgb=cell.unnormalised_rgb)
            for cell, analysis, assessment in zip(kept, settled, assessments)]
