"""What happened to one image on the Classify page: `UploadOutcome`.

Its own module so that every widget module of the page can make and read it without importing another.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.model.analysis import CellAnalysis
from core.model.assessment import Assessment


@dataclass(frozen=True)
class UploadOutcome:
    """What happened to one image: an analysis and its assessment, or an error sentence naming the file."""

    name: str
    digest: str
    image_rgb: np.ndarray | None = None
    analysis: CellAnalysis | None = None
    notes: tuple[str, ...] = ()
    error: str | None = None
    dataset_label: str | None = None
    assessment: Assessment | None = None
    sample_side: str | None = None
