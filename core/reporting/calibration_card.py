"""The Model card's calibration facts: ECE and Brier before and after, per-class conformal thresholds, the notes.

Like `core.reporting.model_card`, everything works on the sidecar alone; figures live in `core.reporting.figures`.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from core.data.labels import ALL, LABELS, display_name
from core.model.calibration import GUARANTEE, REFER, TEMPERATURE_BOUNDS, Calibration, conformal_decision, minimum_scores
from core.reporting.model_card import NOT_AVAILABLE, format_interval, format_number
from core.model.evidence import NO_CALIBRATION


CALIBRATION_MISSING = NO_CALIBRATION  # One wording, from core.model.evidence; takes {path}.
GUARANTEE_LINE = (
    "Coverage guarantee: at error rate α, at least 1 − α of the cells of each class get a prediction set holding "
    f"their class, {GUARANTEE}: it assumes new cells are exchangeable with the calibration subjects' cells (held-out subjects that never chose the epoch)."
)


def calibration_rows(evaluation: dict[str, Any]) -> list[dict[str, str]]:
    """ECE and Brier of one set, before and after temperature scaling, each with its subject-level 95% CI."""
    report = evaluation.get("calibration") or {}
    before, after = report.get("before") or {}, report.get("after") or {}
    cell = "{} ({})".format
    return [{"Metric": title, "Before (raw P(ALL))": cell(format_number(before.get(key)), format_interval(before.get(f"{key}_ci95"))),
             "After temperature scaling": cell(format_number(after.get(key)), format_interval(after.get(f"{key}_ci95")))}
            for key, title in (("ece", "Expected calibration error, 10 bins (95% CI)"), ("brier", "Brier score (95% CI)"))]


def conformal_rows(calibrated: Calibration, error_rate: float) -> list[dict[str, str]]:
    """Per class at one error rate: its threshold and the refer rate among the calibration cells of that class.

    The calibration cells' calibrated P(all) is recovered from their scores (1 - p_all for `all`, p_all for `hem`);
    these are the cells the thresholds come from, so the rate is in-sample.
    """
    thresholds, rows = calibrated.thresholds(error_rate), []
    for label in LABELS:
        scores = calibrated.scores[label]
        probabilities = 1.0 - scores if label == ALL else scores
        referred = [conformal_decision(float(p), thresholds).decision == REFER for p in probabilities]
        threshold = thresholds[label]
        rows.append({"Class": display_name(label), "Calibration cells": f"{len(scores):,}",
                     "Threshold on 1 − p(class)": f"{threshold:.4f}" if math.isfinite(threshold)
                     else f"none: needs at least {minimum_scores(error_rate)} cells, so this class is in every set",
                     "Refer rate": f"{np.mean(referred):.1%}" if referred else NOT_AVAILABLE})
    return rows


def temperature_note(temperature: float) -> str | None:
    """A warning when the fitted T sits at a bound of its search: the fit is degenerate, not a finding."""
    low, high = TEMPERATURE_BOUNDS
    if temperature >= high * 0.999:
        return (f"T reached its upper bound ({high:g}): on the calibration subjects P(ALL) carries almost no information, "
                "so calibration pulls every probability towards the share of ALL cells.")
    return f"T reached its lower bound ({low:g}): the fit is degenerate." if temperature <= low * 1.001 else None
