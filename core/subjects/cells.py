"""Many files of one person in, one `SubjectCell` per file out: decode, batched analysis, assessment.

The same path as the Classify page (decode -> preprocess -> measure -> settle -> assess,
`core.model.answering`) except that the model sees the cells in batches, one forward pass per
batch, and without test-time augmentation (see `core.model.analysis.analyze_scoped`). A file that fails becomes a cell with an error
sentence naming it; the others carry on.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from core.errors import ImageLoadError, PreprocessingError
from core.imaging.decode import load_image
from core.imaging.encode import thumbnail
from core.imaging.prepare import prepare_cell
from core.imaging.preprocess import PreprocessResult
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
        name, digest: the file name as given and the SHA-256 of its bytes.
        thumbnail_rgb: (96, 96, 3) uint8 RGB of the model input, or None when the file failed.
        analysis: its `CellAnalysis` with `stages` dropped (None) to keep it small, or None when it failed.
        error: why the file could not be used, a sentence naming it; None otherwise.
    """

    name: str
    digest: str
    thumbnail_rgb: np.ndarray | None = None
    analysis: CellAnalysis | None = None
    error: str | None = None


@dataclass(frozen=True)
class PreparedFile:
    """One file decoded, preprocessed and scope-checked: everything before the model.

    Attributes:
        name, digest: the file name as given and the SHA-256 of its bytes.
        stages: its `preprocess_cell` result (`model_input` is (S, S, 3) uint8 RGB), or None when it failed.
        scope_reasons: `assess_scope`'s sentences; empty when it looks like a C-NMC input.
        error: why the file could not be used, a sentence naming it; None otherwise.
    """

    name: str
    digest: str
    stages: PreprocessResult | None = None
    scope_reasons: tuple[str, ...] = ()
    error: str | None = None


def prepare_files(files: Sequence[tuple[str, str, bytes]], image_size: int) -> list[PreparedFile]:
    """Decode, preprocess and scope-check each (name, SHA-256, bytes) file for a model of `image_size` px, in order.

    No model is involved, so this can run while the model works on other cells.
    """
    prepared = []
    for name, digest, data in files:
        try:
            cell = prepare_cell(load_image(data, name=name).image_rgb, image_size)
        except (ImageLoadError, PreprocessingError) as error:
            prepared.append(PreparedFile(name, digest, error=_named(name, error)))
            continue
        prepared.append(PreparedFile(name, digest, cell.stages, cell.scope_reasons))
    return prepared


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
                                  replace(analysis, stages=None)))
    return cells


def analyse_files(classifier: Classifier, files: Sequence[tuple[str, str, bytes]], batch_size: int = 32) -> list[AnalysedCell]:
    """`prepare_files` then `analyse_prepared`: every file, one `AnalysedCell` each, in order.

    Args:
        classifier: the loaded model (`core.model.inference.Classifier`).
        files: (file name, SHA-256 of the bytes, bytes) per cell, in the order to report them.
        batch_size: cells per forward pass.
    """
    return analyse_prepared(classifier, prepare_files(files, classifier.image_size), batch_size)


# (batch, its prepared files on demand, "not cached: start on the next batch now") -> the batch's AnalysedCells.
BatchAnalysis = Callable[[Sequence[tuple[str, str, bytes]], Callable[[], list[PreparedFile]], Callable[[], None]],
                         list[AnalysedCell]]


def analyse_in_batches(classifier: Classifier, batches: Sequence[Sequence[tuple[str, str, bytes]]],
                       analyse: BatchAnalysis | None = None) -> Iterator[list[AnalysedCell]]:
    """Each batch of (name, SHA-256, bytes) files analysed in turn, the next one prepared while the model runs.

    `prepare_files` (decoding, preprocessing, scope check) of batch k + 1 runs in a thread while
    batch k is in the model. The forward pass keeps 2 cores busy, so this wins less than the
    decoding costs (3.8 to 4.7 ms per cell at 450 px; 300 cells at 224 px took 8 to 10 s on 2 cores).

    Args:
        batches: the files in batches (the page's progress steps).
        analyse: runs one batch; it calls its third argument first when it computes (a cache miss),
            and its second for the prepared files. Default: `analyse_prepared`, no cache.
    """
    def uncached(batch, prepared, on_miss):
        on_miss()
        return analyse_prepared(classifier, prepared(), classifier.many_batch_size)

    analyse = analyse or uncached
    with ThreadPoolExecutor(max_workers=1) as pool:
        upcoming: dict[int, Future] = {}

        def prepare_next(position: int) -> None:
            if position + 1 < len(batches) and position + 1 not in upcoming:
                upcoming[position + 1] = pool.submit(prepare_files, batches[position + 1], classifier.image_size)

        for position, batch in enumerate(batches):
            ready = upcoming.pop(position, None)
            prepared = ready.result if ready is not None else functools.partial(prepare_files, batch, classifier.image_size)
            yield analyse(batch, prepared, functools.partial(prepare_next, position))


def assess_cells(classifier: Classifier, analysed: Sequence[AnalysedCell], files: Sequence[tuple[str, str, bytes]],
                 sample_side: str | None = None, error_rate: float | None = None) -> list[SubjectCell]:
    """Each analysed cell's `Assessment` on the one path (`core.model.answering.assess_settled`), at the user's error rate.

    Cells whose bfloat16 values lie near a decision boundary at this error rate are decoded again from
    their bytes and run in float32, so each answer is the one Classify gives; failed cells keep their error.

    Args:
        analysed: `analyse_files`' cells, in the order of `files`.
        files: (file name, SHA-256 of the bytes, bytes) per cell, as analysed.
        sample_side: the `core.data.sides` words of a held-out subject's cells; None for uploads.
        error_rate: the conformal error rate the user chose; None: the model's default.
    """
    if len(files) != len(analysed):
        raise ValueError(f"Got {len(analysed)} analysed cells but {len(files)} files; pass the files that were analysed.")
    usable = [position for position, cell in enumerate(analysed) if cell.analysis is not None]

    def model_inputs(positions: Sequence[int]) -> np.ndarray:
        again = prepare_files([files[usable[position]] for position in positions], classifier.image_size)
        return np.stack([file.stages.model_input for file in again])

    _, assessments = assess_settled(classifier, [analysed[position].analysis for position in usable], model_inputs,
                                    error_rate, [sample_side] * len(usable))
    by_position = dict(zip(usable, assessments))
    return [SubjectCell(cell.name, cell.digest, cell.thumbnail_rgb, by_position[position])
            if position in by_position else SubjectCell(cell.name, cell.digest, error=cell.error)
            for position, cell in enumerate(analysed)]


def assess_subject_cells(classifier: Classifier, files: Sequence[tuple[str, str, bytes]], sample_side: str | None = None,
                         error_rate: float | None = None, batch_size: int = 32) -> list[SubjectCell]:
    """`analyse_files` then `assess_cells`: every file of one person, one `SubjectCell` each, in order."""
    return assess_cells(classifier, analyse_files(classifier, files, batch_size), files, sample_side, error_rate)
