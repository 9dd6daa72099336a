"""The sidecar's "subject_evaluation": subject-level answers on the held-out subjects and the external set.

Built from the cell-level P(ALL) that the cell-level evaluation already computed (no second model
pass), by training (`core.training.sidecar`) and by `python -m core.cli.subjects` for older models,
which reads the same values back from the predictions CSVs. Every cell of a subject enters the
score: the cell-level evaluation runs no scope check and no conformal refer, so none is left out.

    {"rule": "mean_log_odds",
     "held_out": {"rows", "summary", "rules", "cells_needed", "stable_after"},   # subject split only
     "external": {...same keys...}}                                              # when it has subjects

"held_out" pools the tuning and the calibration subjects (a model from before the roles: its one
"validation" set): more subjects than either role alone, each in-sample for one job (the tuning subjects
chose the epoch, the calibration subjects set the threshold and the temperature that answer them here).
It is left out for an image split (its held-out images come from subjects seen in training), and
"external" when the external set has no labelled cells with known subjects; a set that cannot be
evaluated by subject (one subject with cells of both labels) gets a line in "notes" instead.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from core.data import labels
from core.subjects import rules
from core.subjects import cohort

# Evaluation set name -> sidecar key; the held-out roles pool into one key.
SET_KEYS = {"tuning": "held_out", "calibration": "held_out", "validation": "held_out", "external": "external"}
AUC_ROUNDS = 1000


def auc_interval(rows: list[dict[str, Any]], rounds: int = AUC_ROUNDS, seed: int = 0) -> list[float] | None:
    """95% percentile-bootstrap interval of the subject-level ROC AUC, resampling subjects.

    Resamples holding one class only are skipped; None when fewer than 20 resamples hold both,
    or when the rows hold one class.
    """
    truths = np.asarray([row["truth"] == labels.ALL for row in rows], dtype=int)
    scores = np.asarray([row["score"] for row in rows], dtype=float)
    if len(set(truths.tolist())) < 2:
        return None
    picks = np.random.default_rng(seed).integers(0, len(rows), size=(rounds, len(rows)))
    aucs = [cohort.pairwise_auc(truths[pick], scores[pick]) for pick in picks if 0 < truths[pick].sum() < len(rows)]
    if len(aucs) < 20:
        return None
    low, high = np.percentile(aucs, [2.5, 97.5])
    return [float(low), float(high)]


def evaluate_subjects(probabilities_all: Sequence[float], label_codes: Sequence[int],
                      subject_names: Sequence[str | None], threshold: float, temperature: float | None = None,
                      rule: str = rules.DEFAULT_RULE, seed: int = 0) -> dict[str, Any] | None:
    """One set's subject-level evaluation, or None when no cell has a known subject.

    Args:
        probabilities_all: (N,) raw P(ALL) of the set's cells, float in [0, 1].
        label_codes: (N,) true labels, 1 = all, 0 = hem.
        subject_names: (N,) each cell's subject; None or "" for unknown (those cells are left out).
        threshold: the model's decision threshold on raw P(ALL).
        temperature: the model's calibration temperature, or None.

    Raises:
        ValueError: one subject has cells of both labels.
    """
    known = [i for i, name in enumerate(subject_names) if name]
    if not known:
        return None
    grouped = cohort.group_cells([float(probabilities_all[i]) for i in known],
                                   [int(label_codes[i]) for i in known], [str(subject_names[i]) for i in known])
    rows = cohort.subject_table(grouped, threshold, rule, temperature)
    summary = cohort.summarise(rows)
    summary["roc_auc_ci"] = auc_interval(rows, seed=seed)
    curve = cohort.cells_needed_curve(grouped, threshold, rule, temperature, seed=seed)
    return {"rows": rows, "summary": summary, "rules": cohort.compare_rules(grouped, threshold, temperature),
            "cells_needed": curve, "stable_after": cohort.stable_after(curve)}


def subject_evaluation(sets: dict[str, tuple[Sequence[float], Sequence[int], Sequence[str | None]]],
                       threshold: float, temperature: float | None, split_kind: str,
                       seed: int = 0) -> dict[str, Any] | None:
    """The sidecar's "subject_evaluation" key, or None when no set can be evaluated by subject.

    Args:
        sets: {"tuning" / "calibration" / "external" (an older model: "validation" / "external"):
            ((N,) raw P(ALL), (N,) label codes, (N,) subjects or None)}; the held-out ones are pooled.
        split_kind: the run's split ("subject" or "image"); an image split has no held-out subjects.
    """
    result: dict[str, Any] = {"rule": rules.DEFAULT_RULE}
    for key, (probabilities, codes, names) in pooled(sets, split_kind).items():
        try:
            evaluated = evaluate_subjects(probabilities, codes, names, threshold, temperature, seed=seed)
        except ValueError as error:  # A subject with cells of both labels: say so on the card.
            result.setdefault("notes", []).append(f"{key}: not evaluated by subject ({error})")
            continue
        if evaluated is not None:
            result[key] = evaluated
    return result if set(result) & set(SET_KEYS.values()) or "notes" in result else None


def pooled(sets: dict[str, tuple[Sequence[float], Sequence[int], Sequence[str | None]]],
           split_kind: str) -> dict[str, tuple[list[float], list[int], list[str | None]]]:
    """{sidecar key: the cells of every set that maps to it, concatenated in `sets` order}; held-out sets only for a subject split."""
    found: dict[str, tuple[list[float], list[int], list[str | None]]] = {}
    for name, (probabilities, codes, names) in sets.items():
        key = SET_KEYS.get(name)
        if key is None or (key == "held_out" and split_kind != "subject"):
            continue
        into = found.setdefault(key, ([], [], []))
        for column, values in zip(into, (probabilities, codes, names)):
            column.extend(values)
    return found


def summary_line(evaluation: dict[str, Any], key: str = "held_out") -> str | None:
    """One line for the training log: subjects answered correctly, AUC and when the answer is stable."""
    found = evaluation.get(key) if evaluation else None
    if not found:
        return None
    summary = found["summary"]
    auc = summary.get("roc_auc")
    stable = found.get("stable_after")
    return (f"{summary['correct']} of {summary['subjects']} subjects right"
            + (f", subject-level ROC AUC {auc:.3f}" if auc is not None else "")
            + (f"; stable after {stable} cell{'s' if stable != 1 else ''}" if stable is not None else ""))
