"""Calibrated probabilities and class-conditional conformal prediction sets, at inference time.

Temperature scaling (Guo et al., "On Calibration of Modern Neural Networks", ICML 2017) divides
the sigmoid's logit by one number T fitted on held-out subjects: T > 1 softens an overconfident
model, T = 1 changes nothing, and the ranking of cells (hence ROC AUC) never changes.

Split conformal prediction, class-conditional ("Mondrian"; Vovk et al. 2005, Angelopoulos and
Bates, "A Gentle Introduction to Conformal Prediction", 2021): the nonconformity score of a cell
for class y is 1 - p_y, with p_all the calibrated P(all) and p_hem = 1 - p_all. For each class the
threshold is the ceil((n + 1)(1 - alpha))-th smallest of its n held-out scores, and a class enters
a cell's prediction set when the cell's score for it is at most that threshold. Then a new cell of
class y has y in its set with probability >= 1 - alpha, as long as it is exchangeable with the
held-out cells of class y: the guarantee is over cells of exchangeable subjects, not over patients.
A set of one class is an answer; a set of both or of neither is "refer".

The sidecar keys read here are written by `core.training.calibration_fit`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from core.config import ERROR_RATE_RANGE
from core.data.labels import ALL, HEM, LABELS
from core.errors import ModelError

REFER = "refer"  # The decision when the prediction set is not a single class.
BOTH_CLASSES, NO_CLASS = "both classes are plausible", "neither class is plausible"
DEFAULT_ERROR_RATE = 0.05
GUARANTEE = "over cells of exchangeable subjects, not over patients"
TEMPERATURE_BOUNDS = (0.05, 20.0)  # T is fitted on log T between these; a T at a bound says the fit is degenerate.
PROBABILITY_FLOOR = 1e-7  # P(all) is clipped to [floor, 1 - floor] so that p = 0 or 1 has a finite logit.


def logit(probability_all: float | np.ndarray) -> float | np.ndarray:
    """log(p / (1 - p)) of P(all), clipped so 0 and 1 give about -16.1 and +16.1."""
    probability = np.clip(np.asarray(probability_all, dtype=float), PROBABILITY_FLOOR, 1.0 - PROBABILITY_FLOOR)
    values = np.log(probability) - np.log1p(-probability)
    return float(values) if values.ndim == 0 else values


def calibrated_probability(probability_all: float | np.ndarray, temperature: float) -> float | np.ndarray:
    """sigmoid(logit(p) / T): P(all) after temperature scaling; a float for a float, an array for an array.

    Raises:
        ValueError: the temperature is not a positive finite number.
    """
    if not (isinstance(temperature, (int, float)) and math.isfinite(temperature) and temperature > 0):
        raise ValueError(f"The temperature must be a positive finite number, got {temperature!r}.")
    values = 1.0 / (1.0 + np.exp(-np.asarray(logit(probability_all)) / temperature))
    return float(values) if values.ndim == 0 else values


def class_probabilities(probability_all_calibrated: float) -> dict[str, float]:
    """{all: p, hem: 1 - p}: the probability of each class from the calibrated P(all)."""
    return {ALL: float(probability_all_calibrated), HEM: 1.0 - float(probability_all_calibrated)}


def minimum_scores(error_rate: float) -> int:
    """The fewest held-out scores of a class that give a finite threshold at this error rate.

    A finite threshold needs ceil((n + 1)(1 - alpha)) <= n, that is n >= (1 - alpha) / alpha:
    19 cells at 5%, 99 at 1%.
    """
    return math.ceil(round((1.0 - error_rate) / error_rate, 9))


def conformal_rank(n: int, error_rate: float) -> int:
    """ceil((n + 1)(1 - alpha)): the 1-based rank of the threshold among n sorted scores (may exceed n)."""
    return math.ceil(round((n + 1) * (1.0 - error_rate), 9))  # Rounding keeps 19.000000000004 at 19.


def conformal_thresholds(scores_by_class: dict[str, np.ndarray], error_rate: float) -> dict[str, float]:
    """Per class, the finite-sample conformal quantile of its held-out nonconformity scores.

    Args:
        scores_by_class: {class code: (n,) scores 1 - p_y of held-out cells of that class}, in [0, 1].
        error_rate: alpha in `core.config.ERROR_RATE_RANGE`, the share of cells of a class allowed to miss their class.

    Returns:
        {class code: threshold}. The threshold is `math.inf` when a class has fewer than
        `minimum_scores(error_rate)` scores: too few cells to promise 1 - alpha, so that class is
        in every prediction set and the rule can only answer it or refer. Say so wherever an inf is shown.

    Raises:
        ValueError: the error rate is outside `core.config.ERROR_RATE_RANGE`.
    """
    low, high = ERROR_RATE_RANGE
    if not low <= error_rate <= high:
        raise ValueError(f"The error rate must lie between {low} and {high} (0.05 for 5%), got {error_rate!r}.")
    thresholds = {}
    for label, scores in scores_by_class.items():
        ordered = np.sort(np.asarray(scores, dtype=float))
        rank = conformal_rank(len(ordered), error_rate)
        thresholds[label] = float(ordered[rank - 1]) if rank <= len(ordered) else math.inf
    return thresholds


@dataclass(frozen=True)
class ConformalAnswer:
    """What the conformal rule says about one cell.

    Attributes:
        decision: `all`, `hem` or "refer".
        prediction_set: the plausible classes, in `LABELS` order: one (an answer), two or none (refer).
    """

    decision: str
    prediction_set: tuple[str, ...]

    @property
    def reason(self) -> str | None:
        """None for an answer; for a referral, whether both or neither class is plausible."""
        if len(self.prediction_set) == 1:
            return None
        return BOTH_CLASSES if self.prediction_set else NO_CLASS


def conformal_decision(probability_all_calibrated: float, thresholds: dict[str, float]) -> ConformalAnswer:
    """The prediction set of one cell and the decision it implies.

    Args:
        probability_all_calibrated: the cell's calibrated P(all), in [0, 1].
        thresholds: from `conformal_thresholds`, one per class code.
    """
    probabilities = class_probabilities(probability_all_calibrated)
    members = tuple(label for label in LABELS if 1.0 - probabilities[label] <= thresholds[label])
    return ConformalAnswer(members[0] if len(members) == 1 else REFER, members)


@dataclass(frozen=True)
class Calibration:
    """A model's temperature and its held-out conformal scores, as its sidecar records them.

    Attributes:
        temperature: T of temperature scaling (1.0 changes nothing).
        scores: {class code: sorted (n,) nonconformity scores of calibrated held-out cells}.
        default_error_rate: the error rate the app starts from (0.05).
        fitted_on: which data T and the scores came from ("held-out subjects of the calibration role").
        guarantee: what the coverage promise is over.
    """

    temperature: float
    scores: dict[str, np.ndarray]
    default_error_rate: float = DEFAULT_ERROR_RATE
    fitted_on: str = "held-out subjects of the calibration role"
    guarantee: str = GUARANTEE

    @classmethod
    def from_metadata(cls, metadata: dict) -> Calibration | None:
        """The calibration of a sidecar; None for a model saved before calibration existed.

        Raises:
            ModelError: the keys are there but malformed (fix with `python -m core.cli.calibrate`).
        """
        calibration, conformal = metadata.get("calibration"), metadata.get("conformal")
        if not calibration or not conformal:
            return None
        try:
            temperature = float(calibration["temperature"])
            scores = {label: np.sort(np.asarray(conformal["scores"][label], dtype=float)) for label in LABELS}
            calibrated_probability(0.5, temperature)  # Refuses a non-positive or non-finite T.
            return cls(temperature, scores, float(conformal.get("default_error_rate", DEFAULT_ERROR_RATE)),
                       str(calibration.get("fitted_on", "held-out subjects")), str(conformal.get("guarantee", GUARANTEE)))
        except (KeyError, TypeError, ValueError) as error:
            raise ModelError(f"The sidecar's calibration or conformal keys are malformed ({error!r}). "
                             "Rewrite them with `python -m core.cli.calibrate --model PATH`.") from error

    def probability(self, probability_all: float | np.ndarray) -> float | np.ndarray:
        """The calibrated P(all) of a raw P(all)."""
        return calibrated_probability(probability_all, self.temperature)

    def thresholds(self, error_rate: float | None = None) -> dict[str, float]:
        """Per-class conformal thresholds at an error rate (default: the sidecar's, 5%)."""
        return conformal_thresholds(self.scores, self.default_error_rate if error_rate is None else error_rate)

    def answer(self, probability_all: float, error_rate: float | None = None) -> ConformalAnswer:
        """The conformal answer for one cell's raw (uncalibrated) P(all)."""
        return conformal_decision(float(self.probability(probability_all)), self.thresholds(error_rate))
