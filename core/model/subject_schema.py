"""The sidecar's optional "subject_evaluation" key (`core.subjects.evaluation`), checked for sane types.

A model without the key is an older model and passes; a key that is there must hold what the model
card and the patient view read: scores and intervals in [0, 1], answers "all"/"hem", counts as whole
numbers. Every refusal names the field, as `core.model.sidecar_schema` does.
"""
from __future__ import annotations

import math
from typing import Any

from core.config import SUBJECT_RULES
from core.data import labels
from core.errors import ModelError

FIELD = "subject_evaluation"
SETS = ("held_out", "external")
FIX = ("Recompute it with `python -m core.cli.subjects --model MODEL`, retrain, "
       "or restore the original metadata file.")
MAX_ROWS = 100_000  # C-NMC has 73 training subjects; a sidecar stays under 8 MB anyway.


class _Refusal(Exception):
    """A bad value at a path inside the key: (path, problem)."""


def _number(value: Any, path: str, optional: bool = False, low: float = 0.0, high: float = 1.0) -> None:
    if optional and value is None:
        return
    if not (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and low <= value <= high):
        raise _Refusal(path, f"must be a number from {low:g} to {high:g}{' or null' if optional else ''}, not {value!r:.40}")


def _count(value: Any, path: str, minimum: int = 0, optional: bool = False) -> None:
    if optional and value is None:
        return
    if not (isinstance(value, int) and not isinstance(value, bool) and value >= minimum):
        raise _Refusal(path, f"must be a whole number of at least {minimum}{' or null' if optional else ''}, not {value!r:.40}")


def _interval(value: Any, path: str, optional: bool = False) -> None:
    if optional and value is None:
        return
    if not (isinstance(value, list) and len(value) == 2):
        raise _Refusal(path, f"must be a [low, high] pair{' or null' if optional else ''}, not {value!r:.40}")
    _number(value[0], f"{path}[0]")
    _number(value[1], f"{path}[1]", low=value[0])


def _of(kind: type, value: Any, path: str) -> Any:
    if not isinstance(value, kind):
        raise _Refusal(path, f"must be a {'list' if kind is list else 'JSON object'}, not {type(value).__name__}")
    if kind is list and len(value) > MAX_ROWS:
        raise _Refusal(path, f"holds {len(value):,} entries, over {MAX_ROWS:,}")
    return value


def _row(row: Any, path: str) -> None:
    _of(dict, row, path)
    if not isinstance(row.get("subject"), str) or len(row["subject"]) > 200:
        raise _Refusal(f"{path}.subject", "must be a name of at most 200 characters")
    _count(row.get("cells"), f"{path}.cells", minimum=1)
    _number(row.get("score"), f"{path}.score")
    _interval(row.get("interval"), f"{path}.interval")
    for key in ("answer", "truth"):
        if row.get(key) not in labels.LABELS:
            raise _Refusal(f"{path}.{key}", f"must be one of {list(labels.LABELS)}, not {row.get(key)!r:.40}")


def _summary(summary: Any, path: str) -> None:
    _of(dict, summary, path)
    _count(summary.get("subjects"), f"{path}.subjects")
    _count(summary.get("correct"), f"{path}.correct")
    _number(summary.get("accuracy"), f"{path}.accuracy", optional=True)
    _interval(summary.get("accuracy_ci"), f"{path}.accuracy_ci", optional=True)
    _number(summary.get("roc_auc"), f"{path}.roc_auc", optional=True)
    _interval(summary.get("roc_auc_ci"), f"{path}.roc_auc_ci", optional=True)


def _point(point: Any, path: str) -> None:
    _of(dict, point, path)
    _count(point.get("cells"), f"{path}.cells", minimum=1)
    _count(point.get("subjects"), f"{path}.subjects", minimum=1)
    for key in ("accuracy", "agreement"):
        _number(point.get(key), f"{path}.{key}")
    _number(point.get("roc_auc"), f"{path}.roc_auc", optional=True)


def _set(found: Any, path: str) -> None:
    _of(dict, found, path)
    for index, row in enumerate(_of(list, found.get("rows"), f"{path}.rows")):
        _row(row, f"{path}.rows[{index}]")
    _summary(found.get("summary"), f"{path}.summary")
    for rule, summary in _of(dict, found.get("rules", {}), f"{path}.rules").items():
        if rule not in SUBJECT_RULES:
            raise _Refusal(f"{path}.rules", f"names an unknown rule {rule!r:.40}")
        _summary(summary, f"{path}.rules.{rule}")
    for index, point in enumerate(_of(list, found.get("cells_needed", []), f"{path}.cells_needed")):
        _point(point, f"{path}.cells_needed[{index}]")
    _count(found.get("stable_after"), f"{path}.stable_after", minimum=1, optional=True)


def check_subject_evaluation(metadata: dict[str, Any], source: str) -> None:
    """Refuse a malformed "subject_evaluation"; a sidecar without it (an older model) passes.

    Raises:
        ModelError: naming the file and the field inside the key, with the fix.
    """
    if metadata.get(FIELD) is None:
        return
    try:
        found = _of(dict, metadata[FIELD], FIELD)
        if found.get("rule") not in SUBJECT_RULES:
            raise _Refusal(f"{FIELD}.rule", f"must be one of {list(SUBJECT_RULES)}, not {found.get('rule')!r:.40}")
        for key in SETS:
            if key in found:
                _set(found[key], f"{FIELD}.{key}")
        if not all(isinstance(note, str) for note in _of(list, found.get("notes", []), f"{FIELD}.notes")):
            raise _Refusal(f"{FIELD}.notes", "must hold sentences (strings)")
    except _Refusal as refusal:
        path, problem = refusal.args
        raise ModelError(f"{source}: the field \"{path}\" {problem}. {FIX}") from None
