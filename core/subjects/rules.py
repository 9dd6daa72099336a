"""One answer per subject (patient or donor) from the answers about many of their cells.

A hematologist decides about a person from many cells; C-NMC is organised the same way (every cell
belongs to one subject, who is either an ALL patient or a healthy donor). Each rule here is a mean
of a per-cell value, mapped back to a score in [0, 1] that is compared with a decision threshold:

- ``mean_log_odds`` (the default): sigmoid of the mean of the cells' (temperature-scaled) logits.
  Its decision is the cell threshold applied to the geometric mean of the cells' odds, so a subject
  whose cells all sit at the threshold sits at the threshold, and temperature scaling changes the
  score but never the answer. Cells are clipped to P(ALL) in [0.001, 0.999] first, so that one
  saturated cell (logit about +-16) cannot outvote ten ordinary ones.
- ``mean_probability``: the mean of the cells' calibrated P(ALL), compared with the calibrated
  threshold.
- ``share_above_threshold``: the share of cells answered ALL, compared with one half (a majority vote).

Cells answered "refer" (conformal) or out of scope are left out of every rule and counted.
The interval is a percentile bootstrap over the subject's cells: it says how much the answer
depends on which of this person's cells were imaged, not how likely the person is to have ALL.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from core.config import DEFAULT_SUBJECT_RULE, SUBJECT_RULES
from core.data import labels
from core.model.calibration import calibrated_probability, logit

MEAN_LOG_ODDS, MEAN_PROBABILITY, SHARE_ABOVE_THRESHOLD = SUBJECT_RULES
RULES = SUBJECT_RULES
DEFAULT_RULE = DEFAULT_SUBJECT_RULE
RULE_NAMES = {
    MEAN_LOG_ODDS: "mean log-odds of the cells",
    MEAN_PROBABILITY: "mean P(ALL) of the cells",
    SHARE_ABOVE_THRESHOLD: "share of cells answered ALL",
}
CELL_CLIP = 0.001  # Cells' P(ALL) are clipped to [CELL_CLIP, 1 - CELL_CLIP] for the log-odds rule.
INTERVAL_ROUNDS = 1000
CELLS_NEEDED_SIZES = (1, 2, 5, 10, 20, 50)


def _check_rule(rule: str) -> None:
    if rule not in RULES:
        raise ValueError(f"Unknown aggregation rule {rule!r}; choose one of {', '.join(RULES)}.")


def cell_values(probabilities_all: np.ndarray, threshold: float, rule: str = DEFAULT_RULE,
                temperature: float | None = None) -> np.ndarray:
    """The per-cell value a rule averages.

    Args:
        probabilities_all: (..., n) raw P(ALL) of cells from the sigmoid unit, float in [0, 1].
        threshold: the model card's decision threshold on raw P(ALL).
        rule: one of `RULES`.
        temperature: the model's temperature (`core.model.calibration`); None: uncalibrated (T = 1).

    Returns:
        (..., n) float64: scaled logits, calibrated probabilities or 0/1 answers.
    """
    _check_rule(rule)
    probabilities = np.asarray(probabilities_all, dtype=float)
    scale = 1.0 if temperature is None else float(temperature)
    if rule == MEAN_LOG_ODDS:
        return np.asarray(logit(np.clip(probabilities, CELL_CLIP, 1.0 - CELL_CLIP)), dtype=float) / scale
    if rule == MEAN_PROBABILITY:
        return probabilities if temperature is None else np.asarray(calibrated_probability(probabilities, scale))
    return labels.calls_all(probabilities, threshold).astype(float)


def score_from_mean(mean_value: float | np.ndarray, rule: str) -> float | np.ndarray:
    """The subject score in [0, 1] from the mean of `cell_values`: sigmoid for log-odds, itself otherwise."""
    if rule == MEAN_LOG_ODDS:
        return 1.0 / (1.0 + np.exp(-np.asarray(mean_value, dtype=float)))
    return mean_value


def decision_threshold(threshold: float, rule: str = DEFAULT_RULE, temperature: float | None = None) -> float:
    """The subject score at and above which the subject is answered ALL, on the rule's scale."""
    _check_rule(rule)
    if rule == SHARE_ABOVE_THRESHOLD:
        return 0.5
    return float(threshold if temperature is None else calibrated_probability(threshold, float(temperature)))


def subject_score(probabilities_all: np.ndarray, threshold: float, rule: str = DEFAULT_RULE,
                  temperature: float | None = None) -> float:
    """One subject's score in [0, 1] from its cells' raw P(ALL), shape (n,) with n >= 1."""
    values = cell_values(probabilities_all, threshold, rule, temperature)
    if values.size == 0:
        raise ValueError("A subject needs at least one answered cell to get a subject-level answer.")
    return float(score_from_mean(values.mean(), rule))


def score_interval(probabilities_all: np.ndarray, threshold: float, rule: str = DEFAULT_RULE,
                   temperature: float | None = None, rounds: int = INTERVAL_ROUNDS,
                   seed: int = 0) -> tuple[float, float]:
    """95% percentile-bootstrap interval of the subject score, resampling the subject's cells.

    Args:
        probabilities_all: (n,) raw P(ALL) of the subject's answered cells, n >= 1.
        rounds: bootstrap resamples; all drawn in one (rounds, n) index array.

    Returns:
        (low, high), both in [0, 1]; (score, score) for a single cell.
    """
    values = cell_values(probabilities_all, threshold, rule, temperature)
    if values.size == 0:
        raise ValueError("A subject needs at least one answered cell to get an interval.")
    picks = np.random.default_rng(seed).integers(0, values.size, size=(rounds, values.size))
    scores = score_from_mean(values[picks].mean(axis=1), rule)
    low, high = np.percentile(scores, [2.5, 97.5])
    return float(low), float(high)


def running_scores(probabilities_all: np.ndarray, threshold: float, rule: str = DEFAULT_RULE,
                   temperature: float | None = None) -> np.ndarray:
    """(n,) subject score after the first 1, 2, ..., n cells, in the order given (the running estimate)."""
    values = cell_values(probabilities_all, threshold, rule, temperature)
    return np.asarray(score_from_mean(np.cumsum(values) / np.arange(1, values.size + 1), rule), dtype=float)


@dataclass(frozen=True)
class SubjectAnswer:
    """The answer about one subject from its cells.

    Attributes:
        subject: the subject's name (C-NMC subject code, folder name or what the user typed).
        answer: "all" or "hem" (`core.data.labels`); "refer" when no cell could be used.
        score: the subject score in [0, 1] (see the module docstring); None without usable cells.
        interval: 95% bootstrap interval of `score` over the subject's cells; None without usable cells.
        decision_threshold: the score at and above which the answer is ALL.
        rule: the aggregation rule, one of `RULES`.
        cells_used: cells that entered the score.
        cells_referred: cells left out because their own answer was "refer" (conformal).
        cells_out_of_scope: cells left out because they are out of scope or out of distribution.
    """

    subject: str
    answer: str
    score: float | None
    interval: tuple[float, float] | None
    decision_threshold: float
    rule: str
    cells_used: int
    cells_referred: int
    cells_out_of_scope: int

    @property
    def cells_total(self) -> int:
        """Every cell given, used or not."""
        return self.cells_used + self.cells_referred + self.cells_out_of_scope


def usable_probabilities(assessments: Sequence) -> tuple[np.ndarray, int, int]:
    """(raw P(ALL) of the usable cells, cells referred, cells out of scope) from `Assessment`s."""
    out_of_scope = [a for a in assessments if a.out_of_scope]
    referred = [a for a in assessments if not a.out_of_scope and a.answer == labels.REFER]
    used = [a.probability_all for a in assessments if not a.out_of_scope and a.answer != labels.REFER]
    return np.asarray(used, dtype=float), len(referred), len(out_of_scope)


def answer_subject(subject: str, assessments: Sequence, threshold: float, rule: str = DEFAULT_RULE,
                   temperature: float | None = None, seed: int = 0) -> SubjectAnswer:
    """The subject-level answer from the `core.model.assessment.Assessment`s of the subject's cells.

    Args:
        subject: the name to report.
        assessments: one per cell; refer and out-of-scope cells are counted and left out.
        threshold: the model's decision threshold on raw P(ALL).
        temperature: the model's calibration temperature, or None.
    """
    used, referred, out_of_scope = usable_probabilities(assessments)
    cut = decision_threshold(threshold, rule, temperature)
    if used.size == 0:
        return SubjectAnswer(subject, labels.REFER, None, None, cut, rule, 0, referred, out_of_scope)
    score = subject_score(used, threshold, rule, temperature)
    interval = score_interval(used, threshold, rule, temperature, seed=seed)
    answer = labels.ALL if score >= cut else labels.HEM
    return SubjectAnswer(subject, answer, score, interval, cut, rule, int(used.size), referred, out_of_scope)
