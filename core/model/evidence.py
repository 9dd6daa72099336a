"""What a model carries beyond its weights: its calibration and its index of known cells, loaded once.

Both are optional. A model saved before they existed still loads; `notes` says what it lacks
and the command that adds it, so every surface can say so.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from collections.abc import Sequence
from typing import Any

import numpy as np

from core.errors import ModelError
from core.model.calibration import Calibration
from core.model.embedding import EmbeddingIndex
from core.model.ood import ENTRY_KEY, StatisticsGaussian

# Both take the model's path: `NO_CALIBRATION.format(path=...)`. The model card shows the first one too.
NO_CALIBRATION = (
    "This model has no calibration and no conformal thresholds: it was saved before they existed, so its P(all) "
    "is uncalibrated and it cannot say when to refer a cell. Add them in seconds, without retraining: "
    "`python -m core.cli.calibrate --model {path}`."
)
OLDER_OOD_CHECK = ("This model's out-of-distribution check is the older distance to the known cells' features, which "
                   "misses most changes of stain and capture (under the demo model it flagged none of 251 real cells); "
                   "give it the stain and texture check, without retraining: `python -m core.cli.index --model {path} --data-dir DATA`.")
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
        ood_statistics: the training cells' stain and texture Gaussian (`core.model.ood`), the OOD score's
            reference; None for a model indexed before it, whose OOD score is the index's k-NN distance.
    """

    calibration: Calibration | None = None
    index: EmbeddingIndex | None = None
    ood_threshold: float | None = None
    notes: tuple[str, ...] = ()
    ood_statistics: StatisticsGaussian | None = None

    @property
    def ood_score_drifts(self) -> bool:
        """Whether the OOD score moves with how the model's pass was computed (the older k-NN distance does; the statistics do not)."""
        return self.ood_statistics is None

    def ood_scores(self, statistics: list[np.ndarray | None], neighbour_scores: list[float]) -> list[float | None]:
        """Each cell's OOD score: its stain and texture distance where the model has the statistics, else its k-NN distance.

        Args:
            statistics: per cell, `CellAnalysis.statistics` (None where it was not computed: no score then).
            neighbour_scores: per cell, the index's k-NN distance (`EmbeddingIndex.query`'s second value).
        """
        if self.ood_statistics is None:
            return list(neighbour_scores)
        known = [position for position, rows in enumerate(statistics) if rows is not None]
        scores: list[float | None] = [None] * len(statistics)
        if known:
            for position, score in zip(known, self.ood_statistics.scores(np.stack([statistics[p] for p in known]))):
                scores[position] = float(score)
        return scores

    def scores_of(self, analyses: Sequence[Any], neighbour_scores: list[float]) -> list[float | None]:
        """`ood_scores` of `CellAnalysis`es: their statistics read (computed, where an analysis lacks them) only when
        the model's score uses them; a model with the older k-NN score computes none."""
        if self.ood_statistics is None:
            return self.ood_scores([None] * len(analyses), neighbour_scores)
        return self.ood_scores([analysis.cell_statistics() for analysis in analyses], neighbour_scores)


def load_evidence(model_path: Path, metadata: dict[str, Any]) -> ModelEvidence:
    """The evidence beside a model file; what is missing or unreadable becomes a note, never an error."""
    notes = []
    try:
        calibration = Calibration.from_metadata(metadata)
    except ModelError as error:
        calibration, notes = None, [str(error)]
    if calibration is None and not notes:
        notes.append(NO_CALIBRATION.format(path=model_path))
    index, threshold, statistics = None, None, None
    entry = metadata.get("embedding_index")
    if isinstance(entry, dict) and isinstance(entry.get("file"), str):
        try:
            index = EmbeddingIndex.load(Path(model_path).parent / Path(entry["file"]).name)
            threshold = float(entry["ood_threshold"])
            statistics = StatisticsGaussian.from_entry(entry[ENTRY_KEY]) if ENTRY_KEY in entry else None
        except (ModelError, KeyError, TypeError, ValueError) as error:
            index, notes = None, [*notes, f"The model's index of known cells could not be used ({error}). {NO_INDEX.format(path=model_path)}"]
        if index is not None and statistics is None:
            notes.append(OLDER_OOD_CHECK.format(path=model_path))
    else:
        notes.append(NO_INDEX.format(path=model_path))
    return ModelEvidence(calibration, index, threshold, tuple(notes), statistics)
