"""Fitting the temperature and the conformal scores on the calibration subjects, and reporting what they do.

`calibrate_held_out` is the one entry point: training (`core.training.sidecar`) and
`python -m core.cli.calibrate` both call it with the held-out sets' labels, P(all) and subjects. It fits
on the "calibration" set (the calibration subjects: never used to choose the epoch), or on the one
"validation" set of a model trained before the roles existed.
It returns the sidecar's "calibration" and "conformal" keys (read back by
`core.model.calibration.Calibration.from_metadata`) and adds, to each set's evaluation,
"calibration" (ECE and Brier before and after, with subject-level 95% CIs, and both reliability
curves) and "conformal" (per class, coverage and refer rate at each error rate of ERROR_RATES).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from scipy.optimize import minimize_scalar

from core.data.labels import ALL, HEM, LABEL_CODES, LABELS
from core.data.sides import CALIBRATION, HELD_OUT_SUBJECTS, VALIDATION
from core.model.calibration import (
    DEFAULT_ERROR_RATE, GUARANTEE, REFER, TEMPERATURE_BOUNDS, Calibration, calibrated_probability, conformal_decision, logit,
)
from core.reporting.evaluation import bootstrap_ci, brier_score, calibration, expected_calibration_error

ERROR_RATES = (0.01, 0.02, 0.05, 0.1, 0.2)
SCORE_DECIMALS = 6  # Rounding keeps the sidecar small; 1e-6 is far below any threshold that matters.
METHOD = "temperature scaling"
FIT_SETS = {CALIBRATION: "held-out subjects of the calibration role", VALIDATION: HELD_OUT_SUBJECTS}  # Set -> fitted_on words.
FITTED_ON = FIT_SETS[CALIBRATION]
IN_SAMPLE_NOTE = ("in-sample: the temperature and the conformal scores were fitted on these cells, "
                  "so these numbers are optimistic; read the external set's")


@dataclass(frozen=True)
class HeldOutSet:
    """One held-out set: (N,) labels (1 = all, 0 = hem), (N,) raw P(all) and (N,) subject ids."""

    labels: np.ndarray
    probabilities: np.ndarray
    subjects: Sequence[str]


def negative_log_likelihood(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    """Mean binary cross-entropy of sigmoid(logits / T) against labels, computed stably."""
    signs = np.where(labels == 1, 1.0, -1.0)
    return float(np.mean(np.logaddexp(0.0, -signs * logits / temperature)))


def fit_temperature(labels: np.ndarray, probabilities: np.ndarray) -> float:
    """The T minimising the NLL of sigmoid(logit(p) / T) on held-out cells (bounded search on log T).

    Raises:
        ValueError: fewer than two classes among the labels (any T at a bound would "fit").
    """
    labels = np.asarray(labels, dtype=int)
    if len(np.unique(labels)) < 2:
        raise ValueError("Fitting a temperature needs cells of both classes among the held-out subjects; "
                         f"these {len(labels)} cells hold one class only.")
    logits = np.asarray(logit(np.asarray(probabilities, dtype=float)))
    result = minimize_scalar(lambda log_t: negative_log_likelihood(logits, labels, float(np.exp(log_t))),
                             bounds=tuple(np.log(TEMPERATURE_BOUNDS)), method="bounded", options={"xatol": 1e-6})
    return float(np.exp(result.x))


def nonconformity_scores(labels: np.ndarray, probabilities_calibrated: np.ndarray) -> dict[str, np.ndarray]:
    """{class code: sorted 1 - p_y of the cells of that class}, p_y from the calibrated P(all)."""
    return {ALL: np.sort(1.0 - probabilities_calibrated[labels == LABEL_CODES[ALL]]),
            HEM: np.sort(probabilities_calibrated[labels == LABEL_CODES[HEM]])}


def sidecar_keys(fitted: HeldOutSet, fitted_on: str = FITTED_ON) -> dict[str, Any]:
    """The sidecar's "calibration" and "conformal" keys, fitted on one held-out set (the calibration subjects)."""
    temperature = fit_temperature(fitted.labels, fitted.probabilities)
    scores = nonconformity_scores(np.asarray(fitted.labels), np.asarray(calibrated_probability(fitted.probabilities, temperature)))
    return {
        "calibration": {"method": METHOD, "temperature": round(temperature, 6), "fitted_on": fitted_on},
        "conformal": {"default_error_rate": DEFAULT_ERROR_RATE, "guarantee": GUARANTEE,
                      "scores": {label: [round(float(score), SCORE_DECIMALS) for score in scores[label]] for label in LABELS}},
    }


def quality(held_out: HeldOutSet, probabilities: np.ndarray, seed: int) -> dict[str, Any]:
    """ECE (10 bins) and Brier with subject-level 95% CIs, and the reliability curve, of one set of P(all)."""
    labels, subjects = np.asarray(held_out.labels, dtype=int), held_out.subjects
    reliability, ece = calibration(labels, probabilities)
    return {"ece": ece, "ece_ci95": bootstrap_ci(labels, probabilities, subjects, expected_calibration_error, seed),
            "brier": brier_score(labels, probabilities), "brier_ci95": bootstrap_ci(labels, probabilities, subjects, brier_score, seed),
            "reliability": reliability}


def coverage_report(held_out: HeldOutSet, calibrated: Calibration) -> dict[str, Any]:
    """Per class, at each error rate of ERROR_RATES: the share of cells whose set holds their class, and the refer rate.

    Referrals come from sets of both classes (common at small error rates) and from empty sets (at large ones, where
    both thresholds are tight): "empty_rate" is the share of the class's cells referred for the second reason.
    """
    labels = np.asarray(held_out.labels, dtype=int)
    probabilities = np.asarray(calibrated.probability(np.asarray(held_out.probabilities, dtype=float)))
    by_class: dict[str, dict[str, list]] = {label: {"coverage": [], "refer_rate": [], "empty_rate": [], "thresholds": []}
                                            for label in LABELS}
    for error_rate in ERROR_RATES:
        thresholds = calibrated.thresholds(error_rate)
        answers = [conformal_decision(float(probability), thresholds) for probability in probabilities]
        for label in LABELS:
            mine = [answer for answer, code in zip(answers, labels) if code == LABEL_CODES[label]]
            by_class[label]["coverage"].append(round(float(np.mean([label in a.prediction_set for a in mine])), 5) if mine else None)
            by_class[label]["refer_rate"].append(round(float(np.mean([a.decision == REFER for a in mine])), 5) if mine else None)
            by_class[label]["empty_rate"].append(round(float(np.mean([not a.prediction_set for a in mine])), 5) if mine else None)
            by_class[label]["thresholds"].append(thresholds[label] if np.isfinite(thresholds[label]) else None)
    for label in LABELS:
        by_class[label]["n"] = int(np.sum(labels == LABEL_CODES[label]))
    return {"error_rates": list(ERROR_RATES), "by_class": by_class}


def calibrate_held_out(evaluations: dict[str, dict[str, Any]], held_out: dict[str, HeldOutSet], seed: int) -> dict[str, Any]:
    """Fit on held_out["calibration"] (an older model's "validation"), add the reports to each set's evaluation.

    Args:
        evaluations: {set name: evaluation dict from `core.reporting.evaluation.evaluate`}; changed in place.
        held_out: {set name: HeldOutSet}: "calibration" (or, for a model from before the roles, "validation")
            required; "tuning" and "external" when there are.
        seed: the bootstrap's seed.

    Returns:
        The sidecar's {"calibration": ..., "conformal": ...}.

    Raises:
        ValueError: no set to fit on, or it lacks a class, so nothing can be fitted.
    """
    fit_set = fitted_set(held_out)
    keys = sidecar_keys(held_out[fit_set], FIT_SETS[fit_set])
    calibrated = Calibration.from_metadata(keys)
    for name, held in held_out.items():
        probabilities = np.asarray(held.probabilities, dtype=float)
        before, after = quality(held, probabilities, seed), quality(held, np.asarray(calibrated.probability(probabilities)), seed)
        report = {"temperature": calibrated.temperature, "before": before, "after": after}
        conformal = coverage_report(held, calibrated)
        if name == fit_set:
            report["note"] = conformal["note"] = IN_SAMPLE_NOTE
        evaluation = evaluations[name]
        evaluation["calibration"] = {**(evaluation.get("calibration") or {}), **report}
        evaluation["conformal"] = conformal
        evaluation["ece_ci95"], evaluation["brier_ci95"] = before["ece_ci95"], before["brier_ci95"]
    return keys


def fitted_set(held_out: dict[str, Any]) -> str:
    """The name of the set calibration is fitted on: "calibration", or "validation" for a model from before the roles.

    Raises:
        ValueError: neither is there.
    """
    found = next((name for name in FIT_SETS if name in held_out), None)
    if found is None:
        raise ValueError(f"Calibration is fitted on the calibration subjects' cells; got only the sets {sorted(held_out)}.")
    return found


def summary_line(evaluation: dict[str, Any], error_rate: float = DEFAULT_ERROR_RATE) -> str | None:
    """One line for the training log: coverage and refer rate per class at 5%, ECE before and after."""
    calibration_report, conformal = evaluation.get("calibration") or {}, evaluation.get("conformal") or {}
    if "after" not in calibration_report or error_rate not in conformal.get("error_rates", []):
        return None
    at = conformal["error_rates"].index(error_rate)
    parts = [f"{label} coverage {rates['coverage'][at]:.1%}, refer {rates['refer_rate'][at]:.1%}"
             for label, rates in conformal["by_class"].items() if rates["coverage"][at] is not None]
    return (f"conformal at {error_rate:.0%} error: " + "; ".join(parts) + f"; ECE {calibration_report['before']['ece']:.3f} -> "
            f"{calibration_report['after']['ece']:.3f} (T = {calibration_report['temperature']:.2f})")
