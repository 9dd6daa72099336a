"""Many files of one person in, one `SubjectCell` per cell out: decode, batched analysis, assessment.

The same path as the Classify page (decode -> the image's cells -> preprocess -> measure -> settle ->
assess, `core.imaging.image_cells`, `core.model.answering`) except that the model sees the cells in
batches, one forward pass per batch, and without test-time augmentation (see
`core.model.analysis.analyze_scoped`). A file is one cell, or, for a smear field or an analyser's crop,
each of its whole white cells (named `FILE#k`, keeping its box in the photo's pixels). A file that
fails becomes a cell with an error sentence naming it; the others carry on.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from core.errors import LeukemiaAppError
from core.imaging.decode import load_image
from core.imaging.encode import thumbnail
from core.imaging.image_cells import CellPlace, cell_name, cells_of_image
from core.imaging.preprocess import PreprocessResult
from core.imaging.stain import ReinhardNormaliser
from core.model.analysis import CellAnalysis, analyze_scoped
from core.model.answering import assess_settled
from core.subjects.summary import SubjectCell

if TYPE_CHECKING:  # TensorFlow stays out of this module's import.
    from core.model.inference import Classifier

THUMBNAIL_SIDE = 96  # Gallery and report thumbnails of the model input, in pixels.


def _named(name: str, error: Exception) -> str:
    message = str(error)
    return message if name in message else f"{name}: {message}"


@dataclass(frozen=True)
class AnalysedCell:
    """One file after the model, before the assessment (which depends on the error rate the user sets).

    Attributes:
        name, digest: the cell's name (the file name as given, or `FILE#k` for a field's k-th cell) and
            the SHA-256 of its file's bytes.
        thumbnail_rgb: (96, 96, 3) uint8 RGB of the model input, or None when the file failed.
        analysis: its `CellAnalysis` with `stages` dropped (None) to keep it small, or None when it failed.
        error: why the file could not be used, a sentence naming it; None otherwise.
        place: where a field's cell lies (`CellPlace`); None for a file that is itself one cell.
        stain: "reinhard" when the cell was moved to the model's training stain first, else "".
    """

    name: str
    digest: str
    thumbnail_rgb: np.ndarray | None = None
    analysis: CellAnalysis | None = None
    error: str | None = None
    place: CellPlace | None = None
    stain: str = ""


@dataclass(frozen=True)
class PreparedFile:
    """One file decoded, preprocessed and scope-checked: everything before the model.

    Attributes:
        name, digest: the cell's name (the file's, or `FILE#k` for a field's k-th cell) and the SHA-256
            of its file's bytes.
        stages: its `preprocess_cell` result (`model_input` is (S, S, 3) uint8 RGB), or None when it failed.
        scope_reasons: `assess_scope`'s sentences (and a field's cell's lineage findings); empty when it
            looks like a C-NMC input.
        error: why the file could not be used, a sentence naming it; None otherwise.
        place: where a field's cell lies; None for a file that is itself one cell.
        stain: "reinhard" when the cell was moved to the model's training stain first, else "".
    """

    name: str
    digest: str
    stages: PreprocessResult | None = None
    scope_reasons: tuple[str, ...] = ()
    error: str | None = None
    place: CellPlace | None = None
    stain: str = ""


def prepare_file(name: str, digest: str, data: bytes, image_size: int,
                 normaliser: ReinhardNormaliser | None = None) -> list[PreparedFile]:
    """One (name, SHA-256, bytes) file's cells, decoded, preprocessed and scope-checked: one, or a field's whole white cells.

    A failure (unreadable, no cell, a field without a whole white cell, more than
    `config.MAX_FIELD_CELLS` cells in one field) is one `PreparedFile` carrying the sentence.
    """
    try:
        cells, _ = cells_of_image(load_image(data, name=name), image_size, normaliser)
    except LeukemiaAppError as error:
        return [PreparedFile(name, digest, error=_named(name, error))]
    return [PreparedFile(cell_name(name, cell.number), digest, cell.cell.stages, cell.cell.scope_reasons,
                         place=CellPlace(name, cell.number, cell.box) if cell.in_field else None, stain=cell.stain)
            for cell in cells]


def prepare_files(files: Sequence[tuple[str, str, bytes]], image_size: int,
                  normaliser: ReinhardNormaliser | None = None) -> list[PreparedFile]:
    """Every cell of each (name, SHA-256, bytes) file for a model of `image_size` px (`prepare_file`), in order.

    No model is involved, so this can run while the model works on other cells.
    """
    return [cell for name, digest, data in files for cell in prepare_file(name, digest, data, image_size, normaliser)]


def analyse_prepared(classifier: Classifier, prepared: Sequence[PreparedFile], batch_size: int = 32) -> list[AnalysedCell]:
    """The model's part: the prepared cells a batch per forward pass (`analyze_scoped`), in order."""
    usable = [file for file in prepared if file.stages is not None]
    analyses = iter(analyze_scoped(classifier, [file.stages for file in usable], [file.scope_reasons for file in usable],
                                   batch_size))
    cells = []
    for file in prepared:
        if file.stages is None:
            cells.append(AnalysedCell(file.name, file.digest, error=file.error))
            continue
        analysis = next(analyses)
        cells.append(AnalysedCell(file.name, file.digest, thumbnail(analysis.stages.model_input, THUMBNAIL_SIDE),
                                  replace(analysis, stages=None), place=file.place, stain=file.stain))
    return cells


def analyse_files(classifier: Classifier, files: Sequence[tuple[str, str, bytes]], batch_size: int = 32,
                  normaliser: ReinhardNormaliser | None = None) -> list[AnalysedCell]:
    """`prepare_files` then `analyse_prepared`: every cell of the files (one per file, or a field's), in order.

    Args:
        classifier: the loaded model (`core.model.inference.Classifier`).
        files: (file name, SHA-256 of the bytes, bytes) per file, in the order to report them.
        batch_size: cells per forward pass.
        normaliser: moves each cell to the model's training stain first (after segmentation), or None.
    """
    return analyse_prepared(classifier, prepare_files(files, classifier.image_size, normaliser), batch_size)


# (batch, its prepared files on demand, "not cached: start on the next batch now") -> the batch's AnalysedCells.
BatchAnalysis = Callable[[Sequence[tuple[str, str, bytes]], Callable[[], list[PreparedFile]], Callable[[], None]],
                         list[AnalysedCell]]


def analyse_in_batches(classifier: Classifier, batches: Sequence[Sequence[tuple[str, str, bytes]]],
                       analyse: BatchAnalysis | None = None,
                       normaliser: ReinhardNormaliser | None = None) -> Iterator[list[AnalysedCell]]:
    """Each batch of (name, SHA-256, bytes) files analysed in turn, the next one prepared while the model runs.

    `prepare_files` (decoding, preprocessing, scope check) of batch k + 1 runs in a thread while
    batch k is in the model. The forward pass keeps 2 cores busy, so this wins less than the
    decoding costs (3.8 to 4.7 ms per cell at 450 px; 300 cells at 224 px took 8 to 10 s on 2 cores).

    Args:
        batches: the files in batches (the page's progress steps).
        analyse: runs one batch; it calls its third argument first when it computes (a cache miss),
            and its second for the prepared files. Default: `analyse_prepared`, no cache.
        normaliser: moves each cell to the model's training stain first (after segmentation), or None.
    """
    def uncached(batch, prepared, on_miss):
        on_miss()
        return analyse_prepared(classifier, prepared(), classifier.many_batch_size)

    analyse = analyse or uncached
    with ThreadPoolExecutor(max_workers=1) as pool:
        upcoming: dict[int, Future] = {}

        def prepare_next(position: int) -> None:
            if position + 1 < len(batches) and position + 1 not in upcoming:
                upcoming[position + 1] = pool.submit(prepare_files, batches[position + 1], classifier.image_size, normaliser)

        for position, batch in enumerate(batches):
            ready = upcoming.pop(position, None)
            prepared = ready.result if ready is not None else functools.partial(prepare_files, batch, classifier.image_size, normaliser)
            yield analyse(batch, prepared, functools.partial(prepare_next, position))


def assess_cells(classifier: Classifier, analysed: Sequence[AnalysedCell], files: Sequence[tuple[str, str, bytes]],
                 sample_side: str | None = None, error_rate: float | None = None,
                 normaliser: ReinhardNormaliser | None = None) -> list[SubjectCell]:
    """Each analysed cell's `Assessment` on the one path (`core.model.answering.assess_settled`), at the user's error rate.

    Cells whose bfloat16 values lie near a decision boundary at this error rate are prepared again from
    their file's bytes (found by digest; a field's cell by its number) and run in float32, so each
    answer is the one Classify gives; failed cells keep their error.

    Args:
        analysed: `analyse_files`' cells (one per file, or a field's cells), from `files`.
        files: (file name, SHA-256 of the bytes, bytes) per file, as analysed.
        sample_side: the `core.data.sides` words of a held-out subject's cells; None for uploads.
        error_rate: the conformal error rate the user chose; None: the model's default.
        normaliser: the stain normaliser the cells were analysed with (None: none), so reruns see the same cells.

    Raises:
        ValueError: a cell's file is not among `files`.
    """
    by_digest = {digest: (name, digest, data) for name, digest, data in files}
    if missing := sorted({cell.name for cell in analysed if cell.digest not in by_digest}):
        raise ValueError(f"No file was given for {len(missing)} analysed cell(s) ({missing[0]}, ...); pass the files analysed.")
    usable = [position for position, cell in enumerate(analysed) if cell.analysis is not None]

    def model_inputs(positions: Sequence[int]) -> np.ndarray:
        again: dict[str, list[PreparedFile]] = {}
        inputs = []
        for position in positions:
            cell = analysed[usable[position]]
            if cell.digest not in again:
                again[cell.digest] = prepare_file(*by_digest[cell.digest], classifier.image_size, normaliser)
            inputs.append(next(file.stages.model_input for file in again[cell.digest] if _same_cell(file, cell)))
        return np.stack(inputs)

    _, assessments = assess_settled(classifier, [analysed[position].analysis for position in usable], model_inputs,
                                    error_rate, [sample_side] * len(usable))
    by_position = dict(zip(usable, assessments))
    return [SubjectCell(cell.name, cell.digest, cell.thumbnail_rgb, by_position[position], place=cell.place, stain=cell.stain)
            if position in by_position else SubjectCell(cell.name, cell.digest, error=cell.error, place=cell.place)
            for position, cell in enumerate(analysed)]


def _same_cell(file: PreparedFile, cell: AnalysedCell) -> bool:
    """True when a file prepared again is the analysed cell: the same number in its field, or the file itself."""
    if cell.place is None:
        return file.place is None
    return file.place is not None and file.place.number == cell.place.number


def assess_subject_cells(classifier: Classifier, files: Sequence[tuple[str, str, bytes]], sample_side: str | None = None,
                         error_rate: float | None = None, batch_size: int = 32,
                         normaliser: ReinhardNormaliser | None = None) -> list[SubjectCell]:
    """`analyse_files` then `assess_cells`: every cell of one person's files, one `SubjectCell` each, in order."""
    return assess_cells(classifier, analyse_files(classifier, files, batch_size, normaliser), files, sample_side, error_rate,
                        normaliser)
