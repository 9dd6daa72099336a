"""Scoring a student quiz: the student's calls and stated confidence beside the model's, on the same cells.

A student answers ALL or Healthy and how sure they are (a confidence c in [0.5, 1]); their P(ALL) is c for
an ALL call and 1 - c for a Healthy call. The model's P(ALL) is its calibrated one when the model has a
calibration, the raw sigmoid otherwise. Both are scored on every cell with:
- sensitivity: ALL cells called ALL / ALL cells (None before the first ALL cell);
- specificity: Healthy cells called Healthy / Healthy cells (None before the first Healthy cell);
- Brier score: mean of (P(ALL) - truth)^2, truth 1 for ALL and 0 for Healthy; 0 is perfect, 0.25 is
  always saying 50%, 1 is sure and always wrong.
The model's calls are its threshold's (`Assessment.label`) on every cell, referred ones included, so that
both are scored on the same cells; how many cells it would have referred is counted beside.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from core.data.labels import ALL, HEM, LABELS, REFER, display_name
from core.data.quiz_cells import REAL
from core.data.sides import SEEN_IN_TRAINING, Sample
from core.model.assessment import DEMO_SENTENCE, REAL_CELL_ON_DEMO_SENTENCE, SEEN_IN_TRAINING_SENTENCE, Assessment

MIN_CONFIDENCE, MAX_CONFIDENCE = 0.5, 1.0
SCORING_NOTE = ("Your P(ALL) is your confidence for an ALL answer and one minus it for Healthy. The model is scored on "
                "its threshold's call on every cell, referred ones included, and on its calibrated P(ALL) when it has one.")
COMPARE_WITH_TRUTH = "On these cells, compare your answers with the truth, not with the model's."
SYNTHETIC_CELLS = "These cells are synthetic, drawn by this app: they teach how the quiz works, not what real cells look like."
FAIR_ON_HELD_OUT = "The model never trained on these cells' subjects: on them, the comparison with the model is fair."


@dataclass(frozen=True)
class QuizAnswer:
    """One quiz cell once the student has answered: the truth, their call and the model's, as plain values.

    Attributes:
        cell: the cell's file name (shown only after the student answered: C-NMC names carry the class).
        truth: "all" or "hem", the cell's label in its dataset.
        call: the student's "all" or "hem".
        confidence: how sure the student said they were, in [0.5, 1].
        model_label: what the model's threshold says, "all" or "hem".
        model_answer: the model's answer, "all", "hem" or "refer" (`core.model.assessment`).
        model_probability_all: the model's P(ALL) in [0, 1], calibrated when the model has a calibration.
        side: where the cell comes from (`core.data.sides` words).
    """

    cell: str
    truth: str
    call: str
    confidence: float
    model_label: str
    model_answer: str
    model_probability_all: float
    side: str

    @property
    def student_probability_all(self) -> float:
        """The student's P(ALL): their confidence for an ALL call, one minus it for a Healthy call."""
        return self.confidence if self.call == ALL else 1.0 - self.confidence


def answer_from(cell: str, truth: str, call: str, confidence: float, assessment: Assessment, side: str) -> QuizAnswer:
    """A `QuizAnswer` from the student's call and the model's assessment of the same cell.

    Raises:
        ValueError: the truth or call is not "all"/"hem", or the confidence is outside [0.5, 1].
    """
    for name, value in (("truth", truth), ("call", call)):
        if value not in LABELS:
            raise ValueError(f"The {name} must be one of {LABELS}; got {value!r}.")
    if not MIN_CONFIDENCE <= confidence <= MAX_CONFIDENCE:
        raise ValueError(f"The confidence must be in [{MIN_CONFIDENCE}, {MAX_CONFIDENCE}] (50% to 100%); got {confidence}.")
    probability = assessment.probability_all_calibrated
    return QuizAnswer(cell, truth, call, float(confidence), assessment.label, assessment.answer,
                      float(assessment.probability_all if probability is None else probability), side)


@dataclass(frozen=True)
class Score:
    """Counts and Brier score of one answerer (the student or the model) over the cells answered so far."""

    all_cells: int
    hem_cells: int
    all_called_all: int
    hem_called_hem: int
    brier: float | None  # None before the first cell

    @property
    def cells(self) -> int:
        return self.all_cells + self.hem_cells

    @property
    def sensitivity(self) -> float | None:
        return self.all_called_all / self.all_cells if self.all_cells else None

    @property
    def specificity(self) -> float | None:
        return self.hem_called_hem / self.hem_cells if self.hem_cells else None

    @property
    def correct(self) -> int:
        return self.all_called_all + self.hem_called_hem


def score(truths: Sequence[str], calls: Sequence[str], probabilities_all: Sequence[float]) -> Score:
    """Sensitivity and specificity counts and the Brier score of calls ("all"/"hem") and P(ALL)s against truths."""
    truth_all = np.array([truth == ALL for truth in truths], dtype=bool)
    call_all = np.array([call == ALL for call in calls], dtype=bool)
    probabilities = np.asarray(probabilities_all, dtype=float)
    brier = float(np.mean((probabilities - truth_all) ** 2)) if len(truths) else None
    return Score(int(truth_all.sum()), int((~truth_all).sum()), int((truth_all & call_all).sum()),
                 int((~truth_all & ~call_all).sum()), brier)


def student_score(answers: Sequence[QuizAnswer]) -> Score:
    return score([a.truth for a in answers], [a.call for a in answers], [a.student_probability_all for a in answers])


def model_score(answers: Sequence[QuizAnswer]) -> Score:
    """The model's score from its threshold calls on every cell (referred ones too, see the module docstring)."""
    return score([a.truth for a in answers], [a.model_label for a in answers], [a.model_probability_all for a in answers])


def referred(answers: Sequence[QuizAnswer]) -> int:
    """How many of the cells the model answered "refer" (out of scope or both classes possible)."""
    return sum(answer.model_answer == REFER for answer in answers)


def _share(part: int, whole: int) -> str:
    return f"{part} of {whole} ({part / whole:.0%})" if whole else "no cell yet"


def score_rows(answers: Sequence[QuizAnswer]) -> list[dict[str, str]]:
    """The running score as table rows (measure, you, the model), in words a person reads."""
    student, model = student_score(answers), model_score(answers)

    def brier(found: Score) -> str:
        return "no cell yet" if found.brier is None else f"{found.brier:.3f}"

    return [
        {"measure": "Correct", "you": _share(student.correct, student.cells), "the model": _share(model.correct, model.cells)},
        {"measure": f"Sensitivity ({display_name(ALL)} cells called {display_name(ALL)})",
         "you": _share(student.all_called_all, student.all_cells), "the model": _share(model.all_called_all, model.all_cells)},
        {"measure": f"Specificity ({display_name(HEM)} cells called {display_name(HEM)})",
         "you": _share(student.hem_called_hem, student.hem_cells), "the model": _share(model.hem_called_hem, model.hem_cells)},
        {"measure": "Brier score (0 is perfect, 0.25 is always 50%)", "you": brier(student), "the model": brier(model)},
        {"measure": "Referred (would not answer)", "you": "never", "the model": _share(referred(answers), len(answers))},
    ]


def comparison_notes(source: str, is_demo: bool, synthetic_data: bool, cells: Sequence[Sample]) -> list[str]:
    """What limits the student-versus-model comparison on these cells, in the assessment's words where they exist.

    Args:
        source: `core.data.quiz_cells` REAL or HELD_OUT.
        is_demo: the model is the synthetic demo model.
        synthetic_data: the dataset in use was drawn by `core.data.synthetic`.
        cells: this round's cells (their sides say whether the model saw any in training).
    """
    notes = [DEMO_SENTENCE] if is_demo else []
    if is_demo and source == REAL:
        notes += [REAL_CELL_ON_DEMO_SENTENCE, COMPARE_WITH_TRUTH]
    elif source != REAL:
        notes += ([SYNTHETIC_CELLS] if synthetic_data else []) + [FAIR_ON_HELD_OUT]
    if any(cell.side == SEEN_IN_TRAINING for cell in cells):
        notes.append(SEEN_IN_TRAINING_SENTENCE)
    return notes
