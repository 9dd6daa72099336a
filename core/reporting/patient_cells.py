"""Many files of one person in, one `PatientCell` per file out: decode, batched analysis, assessment.

The same path as the Classify page (decode -> preprocess -> analyse -> assess) except that the
model sees the cells in batches, one forward pass per batch, and without test-time augmentation
(see `core.model.analysis.analyze_preprocessed`). A file that fails becomes a cell with an error
sentence naming it; the others carry on.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from core.errors import ImageLoadError, PreprocessingError
from core.imaging.decode import load_image
from core.model.analysis import CellAnalysis, analyze_many
from core.model.assessment import assess
from core.model.evidence import ModelEvidence
from core.reporting.explorer import thumbnail
from core.reporting.patient_summary import PatientCell

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


def analyse_files(classifier: Classifier, files: Sequence[tuple[str, str, bytes]], batch_size: int = 32) -> list[AnalysedCell]:
    """Decode every file, then analyse the cells a batch per forward pass (`analyze_many`), in order.

    Args:
        classifier: the loaded model (`core.model.inference.Classifier`).
        files: (file name, SHA-256 of the bytes, bytes) per cell, in the order to report them.
        batch_size: cells per forward pass.
    """
    decoded, failed = [], {}
    for position, (name, _, data) in enumerate(files):
        try:
            decoded.append((position, load_image(data, name=name).image_rgb))
        except ImageLoadError as error:
            failed[position] = _named(name, error)
    found = {}
    for (position, _), analysis in zip(decoded, analyze_many(classifier, [image for _, image in decoded], batch_size)):
        if isinstance(analysis, PreprocessingError):
            failed[position] = _named(files[position][0], analysis)
        else:
            found[position] = (thumbnail(analysis.stages.model_input, THUMBNAIL_SIDE), replace(analysis, stages=None))
    return [AnalysedCell(name, digest, *found[position]) if position in found
            else AnalysedCell(name, digest, error=failed[position]) for position, (name, digest, _) in enumerate(files)]


def assess_cells(analysed: Sequence[AnalysedCell], metadata: Mapping[str, Any], evidence: ModelEvidence | None,
                 sample_side: str | None = None, error_rate: float | None = None) -> list[PatientCell]:
    """Each analysed cell's `Assessment` (as on Classify, at the user's error rate); failed cells keep their error.

    Args:
        metadata, evidence: the model's sidecar and `Classifier.evidence`.
        sample_side: the `core.data.sides` words of a held-out subject's cells; None for uploads.
        error_rate: the conformal error rate the user chose; None: the model's default.
    """
    return [PatientCell(cell.name, cell.digest, cell.thumbnail_rgb,
                        assess(cell.analysis, metadata, sample_side, evidence, error_rate)) if cell.analysis is not None
            else PatientCell(cell.name, cell.digest, error=cell.error) for cell in analysed]


def assess_patient_cells(classifier: Classifier, files: Sequence[tuple[str, str, bytes]], sample_side: str | None = None,
                         error_rate: float | None = None, batch_size: int = 32) -> list[PatientCell]:
    """`analyse_files` then `assess_cells`: every file of one person, one `PatientCell` each, in order."""
    analysed = analyse_files(classifier, files, batch_size)
    return assess_cells(analysed, classifier.loaded.metadata, classifier.evidence, sample_side, error_rate)
