"""One path from prepared cells to their answers, whatever the surface: measure, settle, assess.

Classify (one cell, its 8 views), the Patient page (batches, bfloat16 where the CPU computes it
natively), `python -m core.predict` (both modes), the Quiz and the reports all answer cells here:

1. `measure`: the model's values for the cells (`core.model.analysis`), each marked with how
   exactly they were computed (`FAST`: a bfloat16 batch; `BATCHED`: float32 in a batch; `EXACT`:
   float32, the cell alone).
2. `settle`: a cell whose values lie, within the drift of how they were computed, near any
   decision boundary at the chosen error rate (the threshold, both conformal thresholds, the OOD
   threshold) is run again more exactly: FAST cells in float32, then BATCHED cells alone. So a
   cell's answer never depends on the page (or batch) that computed it: away from every boundary
   the drift cannot change the answer, and near one every path decides on the same EXACT values.
3. `core.model.assessment.assess`, the one decision rule (`core.model.decision`).

>>> answers = answer_cells(classifier, prepared, error_rate=0.05)  # doctest: +SKIP
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from core.data import labels
from core.imaging.prepare import PreparedCell
from core.model.analysis import BATCHED, EXACT, FAST, CellAnalysis, analyze_scoped, analyze_views
from core.model.assessment import Assessment, Neighbourhood, assess
from core.model.calibration import logit
from core.model.embedding import OOD_K

if TYPE_CHECKING:  # TensorFlow stays out of this module's import.
    from core.model.evidence import ModelEvidence
    from core.model.inference import Classifier

# How far a way of computing can move a cell's values from the cell run alone in float32 (EXACT),
# measured by benchmarks/drift.py on two demo models (the idle-machine figures are in the README):
# - bfloat16 batches (folded twin): over 515 cells (the three-role demo model's external set, the
#   251 real C-NMC cells, 155 other synthetic cells) the log-odds moved by at most 0.14 where
#   |log-odds| < 2, 0.26 where < 4, 0.38 where < 8 and 0.87 anywhere (at most 11% of |log-odds|
#   beyond 8); the OOD score by at most 0.027 (0.0045 on the earlier demo model, 406 cells).
# - float32 batches of 32 or views of 8: the log-odds by at most 2.5e-5 (4.1e-6 relative), the OOD
#   score by at most 7.3e-7; float32 batches through the folded copy (`Classifier.folded_values`, what
#   `rerun` uses) by at most 2.9e-5 and the k-NN distance by 3.5e-6 (360 cells: the external set and the
#   real cells).
# A bfloat16 value is run again when a boundary b lies within SAFETY times the drift measured in the
# band of |b| + that margin (`logit_margin`: the exact value across b from the cell's lies in that band);
# a float32 batch's when b lies within base + relative * |b|; the OOD score within its margin of the
# OOD threshold. Each margin is about twice what was measured for bfloat16, forty times or more for float32.
# The OOD margins are those of the older OOD score, the k-NN distance on pooled features (a model
# indexed before the stain and texture statistics). The statistics score is computed from the model
# input, not from the pass, so it does not drift at all (0 in every column of benchmarks/drift.py);
# `settle` checks it against no margin.
FAST_DRIFT_BANDS = ((2.0, 0.14), (4.0, 0.26), (8.0, 0.38))  # (|log-odds| below, the largest bfloat16 drift seen)
FAST_RELATIVE_DRIFT = 0.11  # beyond the last band, the drift seen relative to |log-odds|
SAFETY = 2.0
FAST_OOD_MARGIN = 0.055
BATCHED_LOGIT_MARGIN, BATCHED_RELATIVE_MARGIN, BATCHED_OOD_MARGIN = 1e-3, 1e-5, 1e-4
OOD_MARGINS = {FAST: FAST_OOD_MARGIN, BATCHED: BATCHED_OOD_MARGIN}


def fast_drift(log_odds: float) -> float:
    """The largest bfloat16 drift in log-odds measured for cells at this |log-odds| (`FAST_DRIFT_BANDS`)."""
    size = abs(log_odds)
    for below, drift in FAST_DRIFT_BANDS:
        if size < below:
            return drift
    return FAST_RELATIVE_DRIFT * size


def logit_margin(exactness: int, boundary: float) -> float:
    """How near (in log-odds) a value computed this way must lie to `boundary` to be run again more exactly.

    A FAST value f whose exact value e lies across b has |f - b| <= |f - e| <= drift(|e|), with |e| within
    that drift of |b|: the margin is SAFETY times the drift of the band reached from |b| by one margin.
    """
    if exactness == FAST:
        first = SAFETY * fast_drift(boundary)
        return SAFETY * fast_drift(abs(boundary) + first)
    return BATCHED_LOGIT_MARGIN + BATCHED_RELATIVE_MARGIN * abs(boundary)


def measure(classifier: Classifier, cells: Sequence[PreparedCell], with_tta: bool = False,
            fast: bool = False) -> list[CellAnalysis]:
    """The model's values for each cell: with TTA its 8 views in float32 (one pass each cell), else in batches.

    Args:
        with_tta: also run the 8 flips/rotations (Classify, `core.predict --tta`); the answer stays the original view's.
        fast: batches in `classifier.batch_precision` (bfloat16 where native): the Patient page.
    """
    if with_tta:
        return [analyze_views(classifier, cell.stages, cell.scope_reasons, with_tta=True, statistics=cell.statistics)
                for cell in cells]
    return analyze_scoped(classifier, [cell.stages for cell in cells], [cell.scope_reasons for cell in cells],
                          classifier.many_batch_size, fast=fast, statistics=[cell.statistics for cell in cells])


def logit_boundaries(threshold: float, evidence: ModelEvidence | None, error_rate: float | None) -> np.ndarray:
    """The log-odds of raw P(all) at which some answer changes: the threshold's, and each finite conformal threshold's.

    A class y is in the prediction set when 1 - p_y <= t_y with p_all = sigmoid(logit / T):
    "all" while logit >= T * logit(1 - t_all), "hem" while logit <= T * logit(t_hem).
    """
    boundaries = [float(logit(threshold))]
    calibration = None if evidence is None else evidence.calibration
    if calibration is not None:
        thresholds = calibration.thresholds(error_rate)
        for cut in (1.0 - thresholds["all"], thresholds["hem"]):
            if 0.0 < cut < 1.0:
                boundaries.append(calibration.temperature * float(logit(cut)))
    return np.asarray(boundaries, dtype=float)


def near_boundary(analyses: Sequence[CellAnalysis], ood_scores: Sequence[float | None], boundaries: np.ndarray,
                  ood_threshold: float | None) -> list[int]:
    """Positions of the cells, not EXACT, whose values lie within their margin (`logit_margin`, `OOD_MARGINS`) of a boundary.

    Args:
        boundaries: log-odds of raw P(all) (`logit_boundaries`); each has the margin `logit_margin` for the cell.
        ood_scores: each cell's OOD score, or None; compared with `ood_threshold` (None: no index).
    """
    near = []
    for position, (analysis, score) in enumerate(zip(analyses, ood_scores)):
        if analysis.exactness >= EXACT:
            continue
        value = float(logit(analysis.prediction.probability_all))
        close = any(abs(boundary - value) < logit_margin(analysis.exactness, boundary) for boundary in boundaries)
        if score is not None and ood_threshold is not None:
            close = close or abs(score - ood_threshold) < OOD_MARGINS[analysis.exactness]
        if close:
            near.append(position)
    return near


def neighbourhoods(analyses: Sequence[CellAnalysis], evidence: ModelEvidence | None) -> list[Neighbourhood | None]:
    """Each analysis' (similar cells, OOD score) from one `query_many` of the model's index; None where there is none to ask.

    The OOD score is `ModelEvidence.ood_scores`': the stain and texture distance, or an older model's k-NN distance.
    """
    asked = [position for position, analysis in enumerate(analyses) if analysis.features is not None]
    answers: list[Neighbourhood | None] = [None] * len(analyses)
    if evidence is None or evidence.index is None or not asked:
        return answers
    found = evidence.index.query_many(np.stack([analyses[position].features for position in asked]),
                                      ood_k=OOD_K if evidence.ood_statistics is None else None)
    scores = evidence.scores_of([analyses[position] for position in asked], [score for _, score in found])
    for position, (similar, _), score in zip(asked, found, scores):
        answers[position] = (similar, score)
    return answers


# The (k, S, S, 3) uint8 RGB model inputs of the cells at these positions (the Patient page decodes them again).
ModelInputs = Callable[[Sequence[int]], np.ndarray]


def rerun(classifier: Classifier, analyses: Sequence[CellAnalysis], positions: Sequence[int],
          model_inputs: ModelInputs) -> list[CellAnalysis]:
    """The analyses with the cells at `positions` one step more exact: FAST ones in a float32 batch, BATCHED ones alone.

    The float32 batch runs through the model's folded copy (`Classifier.folded_values`), a quarter cheaper
    than the model as saved and within the float32 margins of it.
    """
    if not positions:
        return list(analyses)
    inputs = model_inputs(positions)
    batched = [row for row, position in enumerate(positions) if analyses[position].exactness == FAST]
    alone = [row for row, position in enumerate(positions) if analyses[position].exactness == BATCHED]
    settled = list(analyses)
    for rows, exactness in ((batched, BATCHED), (alone, EXACT)):
        if not rows:
            continue
        run = classifier.folded_values if exactness == BATCHED else classifier.exact_values
        features, probabilities = run(inputs[rows]) if exactness == EXACT else run(inputs[rows], classifier.many_batch_size)
        for offset, row in enumerate(rows):
            before = settled[positions[row]]
            probability = float(probabilities[offset])  # The 8 views' mean and spread stay as they were.
            prediction = replace(before.prediction, label=labels.label_for(probability, classifier.threshold),
                                 probability_all=probability)
            settled[positions[row]] = replace(before, prediction=prediction, exactness=exactness,
                                              features=before.features if features is None else features[offset])
    return settled


def settle(classifier: Classifier, analyses: Sequence[CellAnalysis], model_inputs: ModelInputs,
           error_rate: float | None = None) -> tuple[list[CellAnalysis], list[Neighbourhood | None]]:
    """The analyses made exact where a boundary at `error_rate` is within their drift, and their neighbourhoods.

    At most two rounds: FAST cells near a boundary run in a float32 batch; cells still (or already)
    BATCHED near one run alone.
    """
    evidence = classifier.evidence
    boundaries = logit_boundaries(classifier.threshold, evidence, error_rate)
    settled, around = list(analyses), neighbourhoods(analyses, evidence)
    for _ in range(2):
        # The stain and texture score comes from the model input alone, so no pass moves it: only the older k-NN score is rechecked.
        near = near_boundary(settled, [None if found is None else found[1] for found in around], boundaries,
                             evidence.ood_threshold if evidence.ood_score_drifts else None)
        if not near:
            break
        settled = rerun(classifier, settled, near, model_inputs)
        for position, found in zip(near, neighbourhoods([settled[position] for position in near], evidence)):
            around[position] = found
    return settled, around


def assess_settled(classifier: Classifier, analyses: Sequence[CellAnalysis], model_inputs: ModelInputs,
                   error_rate: float | None = None, sample_sides: Sequence[str | None] | None = None,
                   ) -> tuple[list[CellAnalysis], list[Assessment]]:
    """`settle`, then the one `assess` per cell: (the settled analyses, their assessments), in order.

    Args:
        model_inputs: the inputs of the cells at given positions, for the few `settle` runs again.
        sample_sides: per cell, the `core.data.sides` words of a dataset sample, or None (uploads).
    """
    settled, around = settle(classifier, analyses, model_inputs, error_rate)
    sides = list(sample_sides) if sample_sides is not None else [None] * len(settled)
    metadata = classifier.loaded.metadata
    return settled, [assess(analysis, metadata, side, classifier.evidence, error_rate, found)
                     for analysis, side, found in zip(settled, sides, around)]


def answer_cells(classifier: Classifier, cells: Sequence[PreparedCell], error_rate: float | None = None,
                 sample_sides: Sequence[str | None] | None = None, with_tta: bool = False,
                 fast: bool = False) -> list[tuple[CellAnalysis, Assessment]]:
    """The one path: prepared cells to (analysis, assessment) pairs, in order (`measure`, `settle`, `assess`)."""
    def inputs(positions: Sequence[int]) -> np.ndarray:
        return np.stack([cells[position].stages.model_input for position in positions])

    analyses, assessments = assess_settled(classifier, measure(classifier, cells, with_tta, fast), inputs,
                                           error_rate, sample_sides)
    return list(zip(analyses, assessments))


def answer_analysis(classifier: Classifier, analysis: CellAnalysis, error_rate: float | None = None,
                    sample_side: str | None = None) -> tuple[CellAnalysis, Assessment]:
    """One measured cell, its stages kept (Classify, Explain, the explorer, the Quiz): `settle` and `assess` it.

    `analysis` is what the app caches per image (`analyze_cell`); a cell near a boundary at this error
    rate is run alone once (`Classifier.exact_values` remembers it), so its answer is the batch paths' answer.
    """
    if analysis.stages is None:
        raise ValueError("This analysis has no preprocessing stages to run again; pass `analyze_cell`'s result.")
    settled, assessments = assess_settled(classifier, [analysis], lambda positions: analysis.stages.model_input[None],
                                          error_rate, [sample_side])
    return settled[0], assessments[0]


def explained_class(assessment: Assessment) -> str:
    """The class a heatmap explains by default: the answer when it is a class, else what the threshold gives."""
    return assessment.answer if assessment.answer in labels.LABELS else assessment.label
