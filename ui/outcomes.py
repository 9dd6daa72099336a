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
    """What happened to one image: an analysis and its assessment, or an error sentence naming the file.

    A cell found in a smear field is named `NAME#k` and keeps where it came from: `field` (the field's
    file name), `number` (k, from 1; 0 for a plain cell) and `box` ((x0, y0, x1, y1) in the original
    photo's pixels, x1 and y1 exclusive). `stain` is "reinhard" when the cell was moved to the model's
    training stain first; then `image_rgb` is the normalised cell and `unnormalised_rgb` ((H, W, 3) uint8
    RGB) the cell before.
    """

    name: str
    digest: str
    image_rgb: np.ndarray | None = None
    analysis: CellAnalysis | None = None
    notes: tuple[str, ...] = ()
    error: str | None = None
    dataset_label: str | None = None
    assessment: Assessment | None = None
    sample_side: str | None = None
    field: str = ""
    number: int = 0
    box: tuple[int, int, int, int] | None = None
    stain: str = ""
    unnormalised_rgb: np.ndarray | None = None

    @property
    def in_field(self) -> bool:
        return self.number > 0
