"""The one decision rule: a cell's prediction set, scope and familiarity in, "all", "hem" or "refer" out.

Every surface (Classify, its table and CSV, the HTML report, Explain, the explorer, Patient, Quiz,
`python -m core.predict` in both modes) answers a cell through `decide`, via
`core.model.assessment.assess`:

- With conformal scores (a calibrated model), a class is answered only when the cell's prediction
  set at the chosen error rate holds exactly that class, and the cell is in scope and in
  distribution. Otherwise the answer is "refer", with the reasons. So no surface can show an answer
  outside the prediction set: the set is what the coverage guarantee is about, while the threshold
  is a point estimate that the guarantee says nothing of.
- Without conformal scores, the threshold's label is answered, unless the cell is out of scope or
  out of distribution.

The threshold's label stays on every surface as secondary information ("the threshold alone would
say ..."), never as the answer.

>>> decide("hem", ("all",), (), False)
Decision(answer='all', reasons=())
>>> decide("all", ("all", "hem"), (), False).reasons
('both_plausible',)
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.data import labels

# Why a cell is referred, in the order surfaces name them (`core.model.assessment.FLAG_SENTENCES` words them).
OUT_OF_SCOPE, OUT_OF_DISTRIBUTION = "out_of_scope", "out_of_distribution"
BOTH_PLAUSIBLE, NONE_PLAUSIBLE = "both_plausible", "none_plausible"
REFER_REASONS = (OUT_OF_SCOPE, OUT_OF_DISTRIBUTION, BOTH_PLAUSIBLE, NONE_PLAUSIBLE)


@dataclass(frozen=True)
class Decision:
    """The answer about one cell and, for a referral, why.

    Attributes:
        answer: "all", "hem" or "refer" (`core.data.labels`).
        reasons: the `REFER_REASONS` that apply, in that order; empty for an answer.
    """

    answer: str
    reasons: tuple[str, ...] = ()


def set_reason(prediction_set: Sequence[str] | None) -> str | None:
    """BOTH_PLAUSIBLE or NONE_PLAUSIBLE for a prediction set that is not one class; None otherwise (or without one)."""
    if prediction_set is None or len(prediction_set) == 1:
        return None
    return BOTH_PLAUSIBLE if prediction_set else NONE_PLAUSIBLE


def decide(threshold_label: str, prediction_set: Sequence[str] | None, scope_reasons: Sequence[str],
           out_of_distribution: bool | None) -> Decision:
    """The one answer for a cell.

    Args:
        threshold_label: "all" or "hem", what the model card's threshold gives on P(all).
        prediction_set: the classes of the cell's conformal prediction set (`LABELS` order), or None
            when the model has no conformal scores (the threshold decides then).
        scope_reasons: why the image does not look like a C-NMC input; empty when it does.
        out_of_distribution: the OOD score passes the model's threshold; None without an index.

    Returns:
        A `Decision`: the set's one class, or the threshold's label without a set, when no reason
        to refer applies; "refer" with every reason that applies otherwise.
    """
    if threshold_label not in labels.LABELS:
        raise ValueError(f"threshold_label must be one of {labels.LABELS}, got {threshold_label!r}.")
    reasons = [reason for reason, applies in ((OUT_OF_SCOPE, bool(scope_reasons)),
                                              (OUT_OF_DISTRIBUTION, bool(out_of_distribution))) if applies]
    conformal = set_reason(prediction_set)
    if conformal is not None:
        reasons.append(conformal)
    if reasons:
        return Decision(labels.REFER, tuple(reasons))
    return Decision(threshold_label if prediction_set is None else prediction_set[0])


def conformal_set_text(prediction_set: Sequence[str] | None) -> str:
    """The set as the CSVs write it: "all|hem", "all", "hem", "" for the empty set; "" without conformal scores too.

    (The CSV tells the two blanks apart by whether the model has conformal scores at all.)
    """
    return "" if prediction_set is None else "|".join(prediction_set)


def prediction_set_text(prediction_set: Sequence[str] | None) -> str:
    """The set as people read it: "{ALL}", "{ALL, Healthy}", "{} (empty)"; "" without conformal scores."""
    if prediction_set is None:
        return ""
    if not prediction_set:
        return "{} (empty: neither class is plausible)"
    return "{" + ", ".join(labels.display_name(label) for label in prediction_set) + "}"
