"""The one vocabulary of classes: codes in files and code, the names people read, the decision rule.

Files, folders and code say `all` and `hem` (as C-NMC does); people read "ALL" and "Healthy".
The model's single sigmoid unit is P(all), and a cell is called `all` when P(all) >= threshold.
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np

ALL, HEM = "all", "hem"
LABELS: tuple[str, str] = (ALL, HEM)  # The order of C-NMC's class folders and of every table.
CLASS_NAMES: tuple[str, str] = (HEM, ALL)  # The model's class index order: index 1 is the sigmoid's class.
POSITIVE_LABEL = ALL
LABEL_CODES = {HEM: 0, ALL: 1}  # Training targets, and the validation CSV's `labels` column.
DISPLAY_NAMES = {ALL: "ALL", HEM: "Healthy"}  # What a person reads, everywhere.
LONG_NAMES = {ALL: "ALL (leukemic blast)", HEM: "Healthy (normal lymphocyte)"}
UNLABELED = "unlabeled"
# The third answer: neither class, a person must look. Not a class of the model (not in LABELS).
REFER = "refer"
REFER_NAME = "Refer"


def calls_all(probabilities_all: float | np.ndarray, threshold: float) -> bool | np.ndarray:
    """The decision rule: P(all) >= threshold means `all`. Works on a float or an array."""
    return np.asarray(probabilities_all) >= threshold if isinstance(probabilities_all, np.ndarray) else probabilities_all >= threshold


THRESHOLD_DIGITS = 3  # Every threshold a person reads has three decimals: 0.517.


def format_threshold(threshold: float) -> str:
    """A decision threshold on P(ALL) as people read it everywhere: 0.5166260600090027 -> '0.517'."""
    return f"{float(threshold):.{THRESHOLD_DIGITS}f}"


def label_for(probability_all: float, threshold: float) -> str:
    """`all` or `hem` for one P(all) at the model's threshold."""
    return ALL if calls_all(float(probability_all), threshold) else HEM


def display_name(label: str | None) -> str:
    """'all' -> 'ALL', 'hem' -> 'Healthy', anything else -> 'Unlabeled'."""
    return DISPLAY_NAMES.get(label or "", "Unlabeled")


def answer_name(answer: str) -> str:
    """'all' -> 'ALL', 'hem' -> 'Healthy', 'refer' -> 'Refer': an answer as a person reads it."""
    return REFER_NAME if answer == REFER else display_name(answer)


def label_codes(labels: Iterable[str]) -> np.ndarray:
    """(N,) int: 1 for `all`, 0 for `hem`."""
    return np.array([LABEL_CODES[label] for label in labels], dtype=int)
