"""Many files of one person in, one `PatientCell` per file out: decode, batched analysis, assessment.

The same path as the Classify page (decode -> preprocess -> analyse -> assess) except that the
model sees the cells in batches, one forward pass per batch, and without test-time augmentation
(see `core.model.analysis.analyze_preprocessed`). A file that fails becomes a cell with an error
sentence naming it; the others carry on.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from core.errors import ImageLoadError, PreprocessingError
from core.imaging.decode import load_image
from core.model.analysis import analyze_many
from core.model.assessment import assess
from core.reporting.explorer import thumbnail
from core.reporting.patient_summary import PatientCell

if TYPE_CHECKING:  # TensorFlow stays out of this module's import.
    from core.model.inference import Classifier

THUMBNAIL_SIDE = 96  # Gallery and report thumbnails of the model input, in pixels.


def _named(name: str, error: Exception) -> str:
    message = str(error)
    return message if name in message else f"{name}: {message}"


def assess_patient_cells(classifier: Classifier, files: Sequence[tuple[str, str, bytes]], sample_side: str | None = None,
                         error_rate: float | None = None, batch_size: int = 32) -> list[PatientCell]:
    """Assess every file of one person.

    Args:
        classifier: the loaded model (`core.model.inference.Classifier`), with its evidence.
        files: (file name, SHA-256 of the bytes, bytes) per cell, in the order to report them.
        sample_side: the `core.data.sides` words of a held-out subject's cells; None for uploads.
        error_rate: the conformal error rate the user chose; None: the model's default.
        batch_size: cells per forward pass.

    Returns:
        One `PatientCell` per file, in order: thumbnail ((96, 96, 3) uint8 RGB of the model input) and
        assessment, or an error sentence naming the file.
    """
    decoded, failed = [], {}
    for position, (name, _, data) in enumerate(files):
        try:
            decoded.append((position, load_image(data, name=name).image_rgb))
        except ImageLoadError as error:
            failed[position] = _named(name, error)
    analyses = analyze_many(classifier, [image_rgb for _, image_rgb in decoded], batch_size)
    found = {}
    for (position, _), analysis in zip(decoded, analyses):
        if isinstance(analysis, PreprocessingError):
            failed[position] = _named(files[position][0], analysis)
        else:
            assessment = assess(analysis, classifier.loaded.metadata, sample_side, classifier.evidence, error_rate)
            found[position] = PatientCell(files[position][0], files[position][1],
                                          thumbnail(analysis.stages.model_input, THUMBNAIL_SIDE), assessment)
    return [found.get(position) or PatientCell(name, digest, error=failed[position])
            for position, (name, digest, _) in enumerate(files)]
