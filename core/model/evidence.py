"""What a model carries beyond its weights: its calibration and its index of known cells, loaded once.

Both are optional. A model saved before they existed still loads; `notes` says what it lacks
and the command that adds it, so every surface can say so.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import ModelError
from core.model.calibration import Calibration
from core.model.embedding import EmbeddingIndex

# Both take the model's path: `NO_CALIBRATION.format(path=...)`. The model card shows the first one too.
NO_CALIBRATION = (
    "This model has no calibration and no conformal thresholds: it was saved before they existed, so its P(all) "
    "is uncalibrated and it cannot say when to refer a cell. Add them in seconds, without retraining: "
    "`python -m core.cli.calibrate --model {path}`."
)
NO_INDEX = ("This model has no index of known cells: no similar cells and no out-of-distribution check. "
            "Add it with `python -m core.cli.index --model {path} --data-dir DATA`.")


@dataclass(frozen=True)
class ModelEvidence:
    """A model's calibration and index of known cells, each None when the model lacks it.

    Attributes:
        calibration: temperature and conformal scores (`core.model.calibration`).
        index: L2-normalised pooled features of the training and validation cells.
        ood_threshold: a cell whose OOD score exceeds it is out of distribution.
        notes: what the model lacks and how to add it, in sentences for people.
    """

    calibration: Calibration | None = None
    index: EmbeddingIndex | None = None
    ood_threshold: float | None = None
    notes: tuple[str, ...] = ()


def load_evidence(model_path: Path, metadata: dict[str, Any]) -> ModelEvidence:
    """The evidence beside a model file; what is missing or unreadable becomes a note, never an error."""
    notes = []
    try:
        calibration = Calibration.from_metadata(metadata)
    except ModelError as error:
        calibration, notes = None, [str(error)]
    if calibration is None and not notes:
        notes.append(NO_CALIBRATION.format(path=model_path))
    index, threshold = None, None
    entry = metadata.get("embedding_index")
    if isinstance(entry, dict) and isinstance(entry.get("file"), str):
        try:
            index = EmbeddingIndex.load(Path(model_path).parent / Path(entry["file"]).name)
            threshold = float(entry["ood_threshold"])
        except (ModelError, KeyError, TypeError, ValueError) as error:
            index, notes = None, [*notes, f"The model's index of known cells could not be used ({error}). {NO_INDEX.format(path=model_path)}"]
    else:
        notes.append(NO_INDEX.format(path=model_path))
    return ModelEvidence(calibration, index, threshold, tuple(notes))
