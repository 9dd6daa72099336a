"""Subject-level evaluation: per-subject answers, the rules compared, and how many cells are enough.

Inputs are per-cell arrays of one evaluation set (held-out subjects or the external set): raw P(ALL),
true label codes (1 = all) and subject names. A subject's truth is the label of its cells (in C-NMC a
subject is either an ALL patient or a healthy donor). These figures rest on few subjects (a handful
held out of 73 in C-NMC), so every figure carries the number of subjects it rests on.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.stats import beta

from core.data import labels
from core.subjects import rules

STABLE_SHARE = 0.95  # "Stable": this share of held-out subjects already got their all-cells answer.
CURVE_REPEATS = 50


def group_cells(probabilities_all: Sequence[float], label_codes: Sequence[int],
                subjects: Sequence[str]) -> dict[str, tuple[np.ndarray, int]]:
    """{subject: ((n,) raw P(ALL) of its cells, its label code)}, in order of first appearance.

    Raises:
        ValueError: the three sequences differ in length, or one subject has cells of both labels.
    """
    if not len(probabilities_all) == len(label_codes) == len(subjects):
        raise ValueError("Probabilities, labels and subjects must have one entry per cell.")
    grouped: dict[str, tuple[list[float], set[int]]] = {}
    for probability, code, subject in zip(probabilities_all, label_codes, subjects):
        cells, codes = grouped.setdefault(str(subject), ([], set()))
        cells.append(float(probability))
        codes.add(int(code))
    mixed = [subject for subject, (_, codes) in grouped.items() if len(codes) > 1]
    if mixed:
        raise ValueError(f"Subjects with cells of both labels: {', '.join(mixed[:5])}; a subject has one label.")
    return {subject: (np.asarray(cells), codes.pop()) for subject, (cells, codes) in grouped.items()}


def clopper_pearson(successes: int, trials: int, confidence: float = 0.95) -> list[float] | None:
    """Exact binomial interval [low, high] for a proportion; None without trials."""
    if trials <= 0:
        return None
    tail = (1.0 - confidence) / 2.0
    low = 0.0 if successes == 0 else float(beta.ppf(tail, successes, trials - successes + 1))
    high = 1.0 if successes == trials else float(beta.ppf(1.0 - tail, successes + 1, trials - successes))
    return [low, high]


def pairwise_auc(truths: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC as the share of (ALL, healthy) pairs ranked right, ties counted half; both classes required.

    Equal to scikit-learn's `roc_auc_score`, about 100x faster on a few dozen subjects (the curve and
    the bootstrap call it hundreds of times).
    """
    positives, negatives = scores[truths == 1][:, None], scores[truths == 0][None, :]
    return float(np.mean((positives > negatives) + 0.5 * (positives == negatives)))


def _auc(truths: np.ndarray, scores: np.ndarray) -> float | None:
    """ROC AUC over subjects, or None when only one class is present."""
    return pairwise_auc(np.asarray(truths), np.asarray(scores, dtype=float)) if len(set(truths.tolist())) == 2 else None


def subject_table(grouped: dict[str, tuple[np.ndarray, int]], threshold: float, rule: str = rules.DEFAULT_RULE,
                  temperature: float | None = None) -> list[dict[str, Any]]:
    """One row per subject: cells, score, its 95% interval over the cells, answer and truth ("all" or "hem")."""
    cut = rules.decision_threshold(threshold, rule, temperature)
    rows = []
    for subject, (cells, code) in grouped.items():
        score = rules.subject_score(cells, threshold, rule, temperature)
        low, high = rules.score_interval(cells, threshold, rule, temperature)
        answer = labels.ALL if score >= cut else labels.HEM
        rows.append({"subject": subject, "cells": int(cells.size), "score": score, "interval": [low, high],
                     "answer": answer, "truth": labels.CLASS_NAMES[code]})
    return rows


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Subject-level accuracy (Clopper-Pearson 95% CI) and ROC AUC over the rows of `subject_table`."""
    truths = np.asarray([row["truth"] == labels.ALL for row in rows], dtype=int)
    correct = sum(row["answer"] == row["truth"] for row in rows)
    return {"subjects": len(rows), "correct": int(correct),
            "accuracy": correct / len(rows) if rows else None,
            "accuracy_ci": clopper_pearson(int(correct), len(rows)),
            "roc_auc": _auc(truths, np.asarray([row["score"] for row in rows])) if rows else None}


def compare_rules(grouped: dict[str, tuple[np.ndarray, int]], threshold: float,
                  temperature: float | None = None) -> dict[str, dict[str, Any]]:
    """{rule: `summarise` of its subject table} for every rule in `core.subjects.rules.RULES`."""
    return {rule: summarise(subject_table(grouped, threshold, rule, temperature)) for rule in rules.RULES}


def cells_needed_curve(grouped: dict[str, tuple[np.ndarray, int]], threshold: float,
                       rule: str = rules.DEFAULT_RULE, temperature: float | None = None,
                       sizes: Sequence[int] = rules.CELLS_NEEDED_SIZES, repeats: int = CURVE_REPEATS,
                       seed: int = 0) -> list[dict[str, Any]]:
    """Subject-level accuracy, AUC and agreement with the all-cells answer from random subsets of cells.

    For each size k, every subject with at least k cells is answered from `repeats` random subsets of
    k of its cells (without replacement). Accuracy and agreement average over subjects and repeats;
    AUC is computed over subjects within each repeat and averaged.

    Returns:
        One dict per size with at least one subject: cells, subjects, accuracy, roc_auc (None with one
        class), agreement (share of answers equal to the subject's all-cells answer).
    """
    rng = np.random.default_rng(seed)
    cut = rules.decision_threshold(threshold, rule, temperature)
    final = {s: rules.subject_score(c, threshold, rule, temperature) >= cut for s, (c, _) in grouped.items()}
    curve = []
    for size in sizes:
        eligible = [(s, c, code) for s, (c, code) in grouped.items() if c.size >= size]
        if not eligible:
            continue
        scores = np.empty((repeats, len(eligible)))
        for column, (_, cells, _) in enumerate(eligible):
            values = rules.cell_values(cells, threshold, rule, temperature)
            picks = np.argsort(rng.random((repeats, cells.size)), axis=1)[:, :size]
            scores[:, column] = rules.score_from_mean(values[picks].mean(axis=1), rule)
        truths = np.asarray([code == labels.LABEL_CODES[labels.ALL] for _, _, code in eligible])
        answered_all = scores >= cut
        finals = np.asarray([final[s] for s, _, _ in eligible])
        aucs = [auc for auc in (_auc(truths.astype(int), row) for row in scores) if auc is not None]
        curve.append({"cells": int(size), "subjects": len(eligible),
                      "accuracy": float((answered_all == truths).mean()),
                      "roc_auc": float(np.mean(aucs)) if aucs else None,
                      "agreement": float((answered_all == finals).mean())})
    return curve


def stable_after(curve: list[dict[str, Any]], share: float = STABLE_SHARE) -> int | None:
    """The fewest cells at which `share` of held-out subjects already got their all-cells answer, or None."""
    for point in curve:
        if point["agreement"] >= share:
            return int(point["cells"])
    return None
