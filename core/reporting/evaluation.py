"""Honest evaluation of a binary classifier, with scikit-learn's metrics.

Everything here takes plain arrays: labels (1 = all, 0 = hem), P(all) and subject ids,
and returns JSON-ready dicts for the model card. Confidence intervals come from a
subject-level (cluster) bootstrap, stratified by class: cells of one subject are alike,
so resampling single images would make the interval too narrow.
"""
from __future__ import annotations

from typing import Any, Callable, Iterator, Sequence

import numpy as np
from sklearn import metrics

from core.data.labels import ALL, HEM, calls_all

MAX_CURVE_POINTS = 200
CALIBRATION_BINS = 10
THRESHOLD_RULE = (
    "Youden's J on the calibration subjects (held-out subjects that did not choose the epoch): the threshold "
    "that maximises sensitivity + specificity - 1 there, chosen before the external set is seen."
)


# Every metric the model card shows, each with a 95% interval from the subject-level bootstrap.
CARD_METRICS = ("accuracy", "balanced_accuracy", "weighted_f1", "sensitivity", "specificity", "roc_auc", "brier", "ece")


# Thresholds stay strictly inside (0, 1), the range a sidecar accepts: a degenerate run whose best
# cut is "call nothing ALL" (roc_curve's first threshold, +inf) is stored as 1 - THRESHOLD_MARGIN.
THRESHOLD_MARGIN = 1e-6


def choose_threshold(labels: np.ndarray, probabilities: np.ndarray) -> float:
    """The probability threshold maximising Youden's J, in (0, 1); 0.5 when only one class is present."""
    if len(np.unique(labels)) < 2:
        return 0.5
    false_positive_rate, true_positive_rate, thresholds = metrics.roc_curve(labels, probabilities)
    best = int(np.argmax(true_positive_rate - false_positive_rate))
    return float(np.clip(thresholds[best], THRESHOLD_MARGIN, 1.0 - THRESHOLD_MARGIN))


# Rates keep 5 decimals; thresholds 9, since a barely trained model (the dry run) puts every P(all) within 1e-5
# of another, and thresholds rounded to 5 decimals would merge points the model card's slider must tell apart.
RATE_DECIMALS, THRESHOLD_DECIMALS = 5, 9


def thin(values: np.ndarray, keep: np.ndarray, decimals: int = RATE_DECIMALS) -> list[float]:
    """Round and subsample a curve for storage in JSON."""
    return [round(float(value), decimals) for value in values[keep]]


def curve_indices(length: int) -> np.ndarray:
    """At most MAX_CURVE_POINTS indices spread over a curve, always keeping both ends."""
    return np.unique(np.linspace(0, length - 1, min(length, MAX_CURVE_POINTS)).round().astype(int))


def roc_points(labels: np.ndarray, probabilities: np.ndarray) -> dict[str, list[float]]:
    """ROC curve points: fpr, tpr and the thresholds (infinity stored as 1.0)."""
    fpr, tpr, thresholds = metrics.roc_curve(labels, probabilities)
    keep = curve_indices(len(fpr))
    return {"fpr": thin(fpr, keep), "tpr": thin(tpr, keep), "thresholds": thin(np.minimum(thresholds, 1.0), keep, THRESHOLD_DECIMALS)}


def pr_points(labels: np.ndarray, probabilities: np.ndarray) -> dict[str, list[float]]:
    """Precision-recall curve points for the positive class (all)."""
    precision, recall, thresholds = metrics.precision_recall_curve(labels, probabilities)
    keep = curve_indices(len(thresholds))
    return {"precision": thin(precision[:-1], keep), "recall": thin(recall[:-1], keep), "thresholds": thin(thresholds, keep, THRESHOLD_DECIMALS)}


def expected_calibration_error(labels: np.ndarray, probabilities: np.ndarray) -> float:
    """ECE over CALIBRATION_BINS equal-width bins: sum over bins of (share of cells) x |mean P(all) - share all|."""
    bins = np.clip(np.digitize(probabilities, np.linspace(0.0, 1.0, CALIBRATION_BINS + 1)[1:-1]), 0, CALIBRATION_BINS - 1)
    gaps = np.bincount(bins, weights=probabilities, minlength=CALIBRATION_BINS) - np.bincount(bins, weights=labels, minlength=CALIBRATION_BINS)
    return float(np.abs(gaps).sum() / max(len(labels), 1))  # |sum p - sum y| / N = share x |mean p - mean y| per bin.


def brier_score(labels: np.ndarray, probabilities: np.ndarray) -> float:
    """Mean squared difference between P(all) and the label (1 = all)."""
    return float(np.mean((probabilities - labels) ** 2))


def calibration(labels: np.ndarray, probabilities: np.ndarray) -> tuple[dict[str, list[float]], float]:
    """Reliability-diagram bins (equal width) and the expected calibration error."""
    edges = np.linspace(0.0, 1.0, CALIBRATION_BINS + 1)
    bins = np.clip(np.digitize(probabilities, edges[1:-1]), 0, CALIBRATION_BINS - 1)
    predicted, observed, counts = [], [], []
    for index in range(CALIBRATION_BINS):
        in_bin = bins == index
        if not in_bin.any():
            continue
        predicted.append(round(float(probabilities[in_bin].mean()), 5))
        observed.append(round(float(labels[in_bin].mean()), 5))
        counts.append(int(in_bin.sum()))
    bins_dict = {"bin_mean_predicted": predicted, "bin_fraction_positive": observed, "bin_count": counts}
    return bins_dict, expected_calibration_error(labels, probabilities)


def subject_resamples(labels: np.ndarray, subjects: Sequence[str], seed: int = 0, rounds: int = 1000) -> Iterator[np.ndarray]:
    """Row indices of `rounds` bootstrap resamples: subjects drawn with replacement within each class.

    Yields nothing when a class has no subject. Every interval of the model card comes from here.
    """
    subjects = np.asarray(subjects)
    groups = {label: np.unique(subjects[labels == label]) for label in (0, 1)}
    if any(len(group) == 0 for group in groups.values()):
        return
    rows_of = {subject: np.flatnonzero(subjects == subject) for subject in np.unique(subjects)}
    rng = np.random.default_rng(seed)
    for _ in range(rounds):
        chosen = [rng.choice(groups[label], size=len(groups[label])) for label in (0, 1)]
        yield np.concatenate([rows_of[subject] for subject in np.concatenate(chosen)])


def bootstrap_ci(labels: np.ndarray, probabilities: np.ndarray, subjects: Sequence[str],
                 statistic: Callable[[np.ndarray, np.ndarray], float], seed: int = 0, rounds: int = 1000) -> list[float] | None:
    """95% CI of statistic(labels, probabilities) over the subject-level resamples, or None without both classes."""
    values = [statistic(labels[rows], probabilities[rows]) for rows in subject_resamples(labels, subjects, seed, rounds)
              if len(np.unique(labels[rows])) == 2]
    return interval(values)


def interval(values: Sequence[float]) -> list[float] | None:
    """[2.5th, 97.5th] percentile of the finite values, rounded to 4 digits; None when there are none."""
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    return [round(float(np.percentile(finite, 2.5)), 4), round(float(np.percentile(finite, 97.5)), 4)] if finite.size else None


def card_scores(labels: np.ndarray, probabilities: np.ndarray, threshold: float) -> dict[str, float]:
    """The model card's eight metrics (CARD_METRICS) of one set, from counts: quick enough for 1000 resamples.

    Args:
        labels: (N,) ints, 1 = all, 0 = hem, both classes present. probabilities: (N,) floats, P(all).
        threshold: the decision threshold on P(all).
    """
    called = np.asarray(calls_all(probabilities, threshold), dtype=bool)
    positive = labels == 1
    tp, fn = float(np.sum(called & positive)), float(np.sum(~called & positive))
    fp, tn = float(np.sum(called & ~positive)), float(np.sum(~called & ~positive))
    sensitivity = tp / (tp + fn) if tp + fn else float("nan")
    specificity = tn / (tn + fp) if tn + fp else float("nan")

    def f1(hits: float, misses: float, false_alarms: float) -> float:  # scikit-learn's zero_division=0
        return 2 * hits / (2 * hits + misses + false_alarms) if hits + misses + false_alarms else 0.0

    return {
        "accuracy": (tp + tn) / len(labels), "balanced_accuracy": (sensitivity + specificity) / 2,
        "weighted_f1": ((tp + fn) * f1(tp, fn, fp) + (tn + fp) * f1(tn, fp, fn)) / len(labels),
        "sensitivity": sensitivity, "specificity": specificity,
        "roc_auc": float(metrics.roc_auc_score(labels, probabilities)),
        "brier": brier_score(labels, probabilities), "ece": expected_calibration_error(labels, probabilities),
    }


def bootstrap_cis(labels: np.ndarray, probabilities: np.ndarray, subjects: Sequence[str], threshold: float,
                  seed: int = 0, rounds: int = 1000) -> dict[str, list[float] | None]:
    """{"<metric>_ci95": [low, high] or None} for every metric of CARD_METRICS, from one set of subject resamples.

    The resamples are those of `bootstrap_ci` with the same seed, so ROC AUC's interval is the one it gives.
    """
    draws = [card_scores(labels[rows], probabilities[rows], threshold)
             for rows in subject_resamples(labels, subjects, seed, rounds) if len(np.unique(labels[rows])) == 2]
    return {f"{key}_ci95": interval([draw[key] for draw in draws]) for key in CARD_METRICS}


def bootstrap_auc_ci(labels: np.ndarray, probabilities: np.ndarray, subjects: Sequence[str], seed: int = 0, rounds: int = 1000) -> list[float] | None:
    """95% CI of ROC AUC by resampling subjects with replacement within each class."""
    return bootstrap_ci(labels, probabilities, subjects, metrics.roc_auc_score, seed, rounds)


def per_subject(labels: np.ndarray, predicted: np.ndarray, subjects: Sequence[str]) -> list[dict[str, Any]]:
    """Accuracy per subject: one dict per subject with its label, image count and accuracy."""
    subjects = np.asarray(subjects)
    rows = []
    for subject in sorted(np.unique(subjects)):
        mine = subjects == subject
        label = ALL if labels[mine].mean() >= 0.5 else HEM
        rows.append({"subject": str(subject), "label": label, "n": int(mine.sum()), "accuracy": round(float((predicted[mine] == labels[mine]).mean()), 4)})
    return rows


def classification_scores(labels: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """Accuracy, balanced accuracy, weighted F1 (the ISBI 2019 metric), sensitivity, specificity."""
    tn, fp, fn, tp = metrics.confusion_matrix(labels, predicted, labels=[0, 1]).ravel()
    return {
        "accuracy": float(metrics.accuracy_score(labels, predicted)),
        "balanced_accuracy": float(metrics.balanced_accuracy_score(labels, predicted)) if len(np.unique(labels)) > 1 else float("nan"),
        "weighted_f1": float(metrics.f1_score(labels, predicted, average="weighted", zero_division=0)),
        "sensitivity": float(tp / (tp + fn)) if tp + fn else float("nan"),
        "specificity": float(tn / (tn + fp)) if tn + fp else float("nan"),
    }


def evaluate(labels: Sequence[int], probabilities: Sequence[float], subjects: Sequence[str], threshold: float, seed: int = 0) -> dict[str, Any]:
    """Every metric of the model card for one held-out set.

    Args:
        labels: (N,) ints, 1 = all, 0 = hem.
        probabilities: (N,) floats, the model's P(all).
        subjects: (N,) subject ids, for the cluster bootstrap and per-subject accuracy.
        threshold: decision threshold on P(all), chosen on the calibration subjects.
    """
    labels = np.asarray(labels, dtype=int)
    probabilities = np.asarray(probabilities, dtype=float)
    predicted = calls_all(probabilities, threshold).astype(int)
    both_classes = len(np.unique(labels)) == 2
    calibration_bins, ece = calibration(labels, probabilities)
    result: dict[str, Any] = {
        "n_images": int(len(labels)),
        "n_subjects": int(len(set(subjects))),
        "threshold": float(threshold),
        **classification_scores(labels, predicted),
        "roc_auc": float(metrics.roc_auc_score(labels, probabilities)) if both_classes else None,
        "brier": float(metrics.brier_score_loss(labels, probabilities)),
        "ece": ece,
        "confusion_matrix": metrics.confusion_matrix(labels, predicted, labels=[0, 1]).tolist(),
        "calibration": calibration_bins,
        "per_subject": per_subject(labels, predicted, subjects),
        "baseline_all": classification_scores(labels, np.ones_like(labels)),
        **(bootstrap_cis(labels, probabilities, np.asarray(subjects), threshold, seed) if both_classes
           else {f"{key}_ci95": None for key in CARD_METRICS}),
    }
    if both_classes:
        result["roc_curve"] = roc_points(labels, probabilities)
        result["pr_curve"] = pr_points(labels, probabilities)
    return result
