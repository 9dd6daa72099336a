"""What a model's sidecar says, shaped for the Model card: facts, metrics and threshold trade-offs.

Everything works on the sidecar dict alone (see `core.model.store.read_sidecar`), never on the model,
so a card can be shown for a model that fails to load. Every field is optional: a missing,
null or NaN value reads "not available" rather than failing. Figures live in
`core.reporting.figures`.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from core.data.labels import format_threshold
from core.data.sides import CALIBRATION, EXTERNAL, ROLE_JOBS, ROLES, SET_TITLES, TRAIN, TUNING, VALIDATION

NOT_AVAILABLE = "not available"
METRICS = (
    ("accuracy", "Accuracy"),
    ("balanced_accuracy", "Balanced accuracy"),
    ("weighted_f1", "Weighted F1 (the ISBI 2019 score)"),
    ("sensitivity", "Sensitivity (ALL cells found)"),
    ("specificity", "Specificity (Healthy cells cleared)"),
    ("roc_auc", "ROC AUC"),
    ("brier", "Brier score (lower is better)"),
    ("ece", "Expected calibration error (lower is better)"),
)
# Always answering "all" finds every leukemic cell, clears no healthy one and ranks nothing,
# whatever the data: these baseline values hold by definition when the sidecar lacks them.
ALWAYS_ALL_BY_DEFINITION = {"sensitivity": 1.0, "specificity": 0.0, "balanced_accuracy": 0.5, "roc_auc": 0.5}
INTENDED_USE = (
    "Teaching and research: showing students and clinicians how a convolutional network "
    "classifies single segmented white blood cells from the C-NMC 2019 dataset as ALL "
    "(leukemic blast) or healthy, where it fails, and how its errors trade off."
)
OUT_OF_SCOPE = (
    "Diagnosis, screening or any decision about a patient; cell types other than C-NMC's B-lineage "
    "lymphoid cells (the model only judges lymphoid cells: a neutrophil, eosinophil or monocyte found "
    "in a smear field is referred when its nucleus plainly says so, and otherwise gets an answer that "
    "means nothing); other stains, microscopes or scanners (untested); images from patients "
    "unlike the C-NMC cohort; using the probability as a calibrated risk without checking "
    "the calibration plot."
)


def is_number(value: Any) -> bool:
    """True for a finite int or float (not bool, None or NaN)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def format_number(value: Any, digits: int = 3) -> str:
    """`0.912` for a finite number, "not available" for anything else."""
    return f"{value:.{digits}f}" if is_number(value) else NOT_AVAILABLE


def format_interval(interval: Any, digits: int = 3) -> str:
    """`0.880 – 0.940` for a [low, high] pair of numbers, "not available" otherwise."""
    if isinstance(interval, (list, tuple)) and len(interval) == 2 and all(map(is_number, interval)):
        return f"{interval[0]:.{digits}f} – {interval[1]:.{digits}f}"
    return NOT_AVAILABLE


def metrics_rows(evaluation: dict[str, Any]) -> list[dict[str, str]]:
    """One row per metric: the model's value, its 95% CI (`<metric>_ci95`) and the always-"all" value."""
    baseline = {**ALWAYS_ALL_BY_DEFINITION, **(evaluation.get("baseline_all") or {})}
    return [
        {
            "Metric": title,
            "Model": format_number(evaluation.get(key)),
            "95% CI": format_interval(evaluation.get(f"{key}_ci95")),
            'Always "ALL"': format_number(baseline.get(key)),
        }
        for key, title in METRICS
    ]


def curve_arrays(roc_curve: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(thresholds ascending, tpr, fpr) from a stored ROC curve, both rates non-increasing.

    A missing or non-finite threshold (scikit-learn's first point, "flag nothing") is placed
    just above every other, and ties keep the higher rates first so the curve stays monotonic.
    """
    columns = [[np.nan if value is None else value for value in roc_curve.get(key) or []]
               for key in ("thresholds", "tpr", "fpr")]
    if len({len(column) for column in columns}) != 1 or not columns[0]:
        raise ValueError("An ROC curve needs equally long, non-empty fpr, tpr and thresholds lists.")
    thresholds, tpr, fpr = (np.asarray(column, dtype=float) for column in columns)
    finite = np.isfinite(thresholds)
    ceiling = max(1.0, float(thresholds[finite].max())) if finite.any() else 1.0
    thresholds = np.where(finite, thresholds, np.nextafter(ceiling, np.inf))
    order = np.lexsort((-tpr, -fpr, thresholds))
    return thresholds[order], np.minimum.accumulate(tpr[order]), np.minimum.accumulate(fpr[order])


def operating_point(roc_curve: dict[str, Any], threshold: float) -> tuple[float, float]:
    """Sensitivity and specificity at a decision threshold on P(all), from stored ROC points.

    Rates are linearly interpolated between the stored points (the sidecar keeps at most a few
    hundred), and held constant beyond the first and last threshold.

    Args:
        roc_curve: {"fpr": [...], "tpr": [...], "thresholds": [...]} as scikit-learn returns them.
        threshold: P(all) at or above which a cell is called "all", in [0, 1].

    Returns:
        (sensitivity, specificity), each in [0, 1]; sensitivity falls and specificity rises
        as the threshold rises.

    Raises:
        ValueError: the curve's lists are empty or of different lengths.
    """
    thresholds, tpr, fpr = curve_arrays(roc_curve)
    sensitivity = float(np.interp(threshold, thresholds, tpr))
    specificity = 1.0 - float(np.interp(threshold, thresholds, fpr))
    return sensitivity, specificity


def class_totals(evaluation: dict[str, Any]) -> tuple[int, int] | None:
    """(healthy, leukemic) image counts from the confusion matrix [[tn, fp], [fn, tp]], or None."""
    matrix = evaluation.get("confusion_matrix")
    try:
        (tn, fp), (fn, tp) = matrix
        return int(tn + fp), int(fn + tp)
    except (TypeError, ValueError):
        return None


def prevalence(evaluation: dict[str, Any]) -> float | None:
    """Share of "all" images in an evaluated set: the precision of always answering "all"."""
    totals = class_totals(evaluation)
    return totals[1] / sum(totals) if totals and sum(totals) else None


def sha_status(recorded: str | None, actual: str | None) -> str:
    """"match", "mismatch", "not recorded" (the sidecar has no hash) or "file missing"."""
    if actual is None:
        return "file missing"
    if not recorded:
        return "not recorded"
    return "match" if recorded.lower() == actual.lower() else "mismatch"


def split_facts(metadata: dict[str, Any]) -> list[tuple[str, str]]:
    """The training data and its split into roles as (field, value) text pairs (older sidecars: train/held-out)."""
    split, data, roles = metadata.get("split") or {}, metadata.get("data") or {}, metadata.get("split_roles")
    kind = {
        "subject": "subject-level: no person's cells are in two roles, so held-out scores reflect new patients",
        "image": "image-level: one person's cells are in every role, so held-out scores are optimistic",
    }.get(split.get("kind"), NOT_AVAILABLE)
    synthetic = data.get("synthetic")
    facts = [
        ("Data", "synthetic demo cells" if synthetic else "C-NMC 2019 training folds" if synthetic is False else NOT_AVAILABLE),
        ("Data folder", str(data.get("root") or NOT_AVAILABLE)),
        ("Data fingerprint", str(data.get("fingerprint") or NOT_AVAILABLE)),
        ("Split", kind),
        ("Split seed", str(split.get("seed", NOT_AVAILABLE))),
    ]
    if isinstance(roles, dict):
        facts += [(f"{ROLE_TITLES[role]} subjects" + (f" ({ROLE_JOBS[role]})" if role != TRAIN else ""), _count_of(roles.get(role)))
                  for role in ROLES]
        facts += [("Training images" if role == TRAIN else f"{ROLE_TITLES[role]} subjects' images",
                   _count_of(split.get(f"{role}_images"))) for role in ROLES]
    else:  # A model trained before the roles: one held-out side did every job.
        facts += [("Training subjects", _count_of(split.get("train_subjects"))),
                  ("Held-out subjects", _count_of(split.get("validation_subjects"))),
                  ("Training images", _count_of(split.get("train_images"))),
                  ("Held-out subjects' images", _count_of(split.get("validation_images")))]
    return facts + [("External set images (C-NMC's validation_data folder)", _count_of(split.get("external_images"))),
                    ("Split file", str(split.get("files_csv") or NOT_AVAILABLE))]


ROLE_TITLES = {TRAIN: "Training", TUNING: "Tuning", CALIBRATION: "Calibration"}
# Which figures of each evaluated set are in-sample, and for what: the model card's caption per set.
SET_NOTES = {
    TUNING: ("In-sample for model selection: these subjects chose the epoch kept and the learning-rate schedule, so its "
             "metrics lean optimistic; its calibration and coverage figures do not (the temperature and the conformal "
             "scores never saw them)."),
    CALIBRATION: ("In-sample for the threshold, the temperature, the conformal scores and the OOD threshold: these "
                  "subjects set them, so the threshold's metrics, the calibration and the coverage here are optimistic; "
                  "model selection never saw them."),
    VALIDATION: ("In-sample for every choice: these subjects chose the epoch and set the threshold, the temperature and "
                 "the conformal scores (a model trained before the three roles), so every figure here is optimistic."),
    EXTERNAL: "Clean: no choice was made on the external set, so its figures are the ones to quote.",
}


def in_sample_rows(metadata: dict[str, Any]) -> list[dict[str, str]]:
    """One row per evaluated set: what it was used for and which of its figures are in-sample (`SET_NOTES`)."""
    names = [TUNING, CALIBRATION] if isinstance(metadata.get("split_roles"), dict) else [VALIDATION]
    return [{"Set": SET_TITLES[name].split(" (")[0], "Used for": ROLE_JOBS.get(name, "no choice: evaluation only"), "Its figures": SET_NOTES[name]}
            for name in (*names, EXTERNAL)]


def _count_of(value: Any) -> str:
    """A count from a number or the length of a list; "not available" otherwise."""
    if isinstance(value, list):
        return f"{len(value):,}"
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else NOT_AVAILABLE


def identity_facts(metadata: dict[str, Any]) -> list[tuple[str, str]]:
    """Name, version, date, threshold and its rule, input size and starting weights as text pairs."""
    fields = (
        ("Model", "model_name"), ("Version", "version"), ("Created", "created"),
        ("Input size (pixels)", "image_size"), ("Starting weights", "weights"),
        ("Decision threshold on P(ALL)", "threshold"), ("How the threshold was chosen", "threshold_rule"),
    )
    return [(title, threshold_fact(metadata.get(key)) if key == "threshold" else
             NOT_AVAILABLE if metadata.get(key) in (None, "") else str(metadata[key])) for title, key in fields]


def threshold_fact(threshold: Any) -> str:
    """'0.517 (stored as 0.5166260600090027)': three decimals as everywhere, the full precision once, labelled."""
    if not is_number(threshold):
        return NOT_AVAILABLE
    shown = format_threshold(threshold)
    return shown if float(shown) == float(threshold) else f"{shown} (stored as {float(threshold)!r})"
