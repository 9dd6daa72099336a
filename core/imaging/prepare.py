"""One cell before the model: its preprocessing stages and its scope check, the same on every surface.

Classify, the Patient page, the explorer, the Quiz and both command lines prepare a decoded image
here (`prepare_cell`); `core.model.answering` takes it from there to the one answer.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from core.imaging.preprocess import PreprocessResult, preprocess_cell
from core.imaging.scope import assess_scope


@dataclass(frozen=True)
class PreparedCell:
    """One cell before the model: its preprocessing stages and its scope check.

    Attributes:
        stages: `preprocess_cell`'s result; `stages.model_input` is (S, S, 3) uint8 RGB.
        scope_reasons: `assess_scope`'s sentences; empty when the image looks like a C-NMC input.
        statistics: its `core.imaging.statistics.statistics_of(stages)`, (16,) float64, when worked out ahead
            (`with_statistics`: the Ray engine's preparing tasks, so the model's actor need not); None otherwise,
            and the answering path works them out where the model's OOD score reads them.
    """

    stages: PreprocessResult
    scope_reasons: tuple[str, ...] = ()
    statistics: np.ndarray | None = None


def prepare_cell(image_rgb: np.ndarray, image_size: int) -> PreparedCell:
    """A decoded (H, W, 3) uint8 RGB image -> its stages for a model of `image_size` px and its scope check.

    Raises:
        PreprocessingError: no cell could be found (a blank or flat image, for example).
    """
    stages = preprocess_cell(image_rgb, image_size)
    return PreparedCell(stages, tuple(assess_scope(image_rgb, stages)))


def with_statistics(cell: PreparedCell) -> PreparedCell:
    """The cell with its stain and texture statistics worked out (`statistics_of`), as the answer would work them out."""
    from core.imaging.statistics import statistics_of

    return replace(cell, statistics=statistics_of(cell.stages))
