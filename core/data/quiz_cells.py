"""The cells a student quiz draws from: the real cells the project ships, or held-out cells of the dataset in use.

Two sources, each a list of labelled `Sample`s (`core.data.sides`):
- REAL: the C-NMC cells shipped in `data/real_cells/` (8 ALL, 8 Healthy). A model trained on real C-NMC
  may have seen them: the model's split CSV then names their side ("seen in training").
- HELD_OUT: the labelled cells of the dataset in use whose subjects the model never trained on (held-out
  subjects and the external set, from the split CSV beside the model; without one, the external set).

Which one a quiz starts on (`default_source`) follows what makes the student-versus-model comparison mean
something: the demo model learned synthetic cells, so its answers on real cells mean nothing, while on
held-out synthetic cells it is scored on subjects it never saw, like the student.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from core.data.index import ImageRecord
from core.data.labels import ALL, HEM
from core.data.sides import HELD_OUT_SIDES, SEEN_IN_TRAINING, Sample, SplitSides, real_cell_samples, side_of_record

REAL, HELD_OUT = "real", "held_out"
SOURCES = (REAL, HELD_OUT)
SOURCE_NAMES = {REAL: "Real cells (C-NMC 2019, shipped with the app)",
                HELD_OUT: "Held-out subjects and the external set of the dataset in use"}


def held_out_cells(records: Iterable[ImageRecord], sides: SplitSides | None) -> list[Sample]:
    """Labelled cells whose subjects the model did not train on (held-out subjects, external set), in index order."""
    cells = []
    for record in records:
        side = side_of_record(record, sides)
        if record.label in (ALL, HEM) and side in HELD_OUT_SIDES:
            cells.append(Sample(record.path, record.label, side))
    return cells


def real_cells(sides: SplitSides | None, model_is_demo: bool = False) -> list[Sample]:
    """The shipped real cells, each with the side the model's split CSV gives it (if it lists the cell).

    A demo model's split CSV is not consulted: that model learned synthetic cells only, and synthetic file
    names copy C-NMC's (a synthetic UID_3_1_1_all.bmp shares its stem with the real UID_3_1_1_all.png).
    """
    cells = []
    for sample in real_cell_samples():
        known = sides.side_of_stem(sample.path.stem) if sides is not None and not model_is_demo else None
        cells.append(Sample(sample.path, sample.label, known or sample.side, sample.source))
    return cells


def default_source(available: Mapping[str, Sequence[Sample]], is_demo: bool) -> str | None:
    """The source a quiz starts on, or None when neither has cells.

    Real cells for a trained model that never saw them; held-out cells for the demo model (its answers on
    real cells mean nothing) or for a model that trained on some of the real cells (it would remember them).
    Whichever source has cells when the preferred one has none.
    """
    real_ok = bool(available.get(REAL)) and not any(cell.side == SEEN_IN_TRAINING for cell in available[REAL])
    preferred = (REAL, HELD_OUT) if real_ok and not is_demo else (HELD_OUT, REAL)
    return next((source for source in preferred if available.get(source)), None)


def draw_cells(cells: Sequence[Sample], count: int, seed: int) -> list[Sample]:
    """`count` cells (fewer when there are fewer), half ALL and half Healthy where possible, in a random order.

    Balanced so that both sensitivity and specificity rest on about count / 2 cells; the odd cell and any
    shortfall of one class come from the other. The same seed gives the same cells in the same order.

    Raises:
        ValueError: `count` is below 1.
    """
    if count < 1:
        raise ValueError(f"A quiz needs at least one cell; got count={count}.")
    rng = np.random.default_rng(seed)
    by_class = {label: [cell for cell in cells if cell.label == label] for label in (ALL, HEM)}
    for group in by_class.values():
        rng.shuffle(group)
    take_all = min(len(by_class[ALL]), max(count - len(by_class[HEM]), (count + int(rng.integers(2))) // 2))
    chosen = by_class[ALL][:take_all] + by_class[HEM][:count - take_all]
    rng.shuffle(chosen)
    return chosen
