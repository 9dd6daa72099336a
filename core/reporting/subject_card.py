"""The Model card's subject-level section, from the sidecar's "subject_evaluation" alone (no model needed).

Text rows for the per-subject table and the rules compared, the sentences that say how few subjects
the figures rest on, and the cells-needed figure (plotly). Names people read come from
`core.data.labels` ("ALL" / "Healthy"); sets are "held-out subjects" and "external set".
"""
from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from core.data.labels import display_name
from core.subjects import rules
from core.reporting.model_card import format_interval, format_number

SET_TITLES = {
    "held_out": "Held-out subjects (tuning and calibration subjects of the training folds)",
    "external": "External set (C-NMC's labelled validation set, other patients)",
}
# Why the held-out subjects' figures are optimistic, and by how much each role's subjects are in-sample.
HELD_OUT_NOTE = ("The held-out subjects pool both held-out roles: the tuning subjects chose the epoch kept, and the "
                 "calibration subjects set the threshold and the temperature that answer every subject here, so both "
                 "are in-sample for one job. Only the external set's figures are clean.")
OLDER_HELD_OUT_NOTE = ("These held-out subjects both chose the epoch kept and set the threshold and the temperature "
                       "(a model trained before the three roles): in-sample for both. Only the external set's figures are clean.")


def held_out_note(metadata: dict[str, Any]) -> str:
    """Which jobs the held-out subjects did: the two roles' note, or the older models' (one set did every job)."""
    return HELD_OUT_NOTE if isinstance(metadata.get("split_roles"), dict) else OLDER_HELD_OUT_NOTE
METHOD = (
    "Each subject's cells are pooled into one subject score with the {rule} (the cells' P(ALL), temperature-scaled "
    "when the model is calibrated); the subject is answered ALL when the score reaches the model's threshold. "
    "The interval resamples the subject's own cells: it says how much the answer depends on which of this person's "
    "cells were imaged, not how likely the person is to have ALL. Every cell counts here: the evaluation runs no "
    "scope check and refers no cell."
)
CURVE_COLORS = {"accuracy": "#1f4e79", "roc_auc": "#ff7f0e", "agreement": "#2ca02c"}
CURVE_NAMES = {"accuracy": "accuracy (answer = truth)", "roc_auc": "ROC AUC over subjects",
               "agreement": "agreement with the all-cells answer"}


def method_text(rule: str) -> str:
    """How subjects are answered, naming the rule in words."""
    return METHOD.format(rule=rules.RULE_NAMES.get(rule, rule))


def few_subjects_text(summary: dict[str, Any]) -> str:
    """The plain warning: how many subjects the figures rest on and what that does to the interval."""
    count = summary.get("subjects") or 0
    interval = format_interval(summary.get("accuracy_ci"))
    return (f"These figures rest on {count} subject{'s' if count != 1 else ''} only: every subject moves the accuracy by "
            f"{100 / count:.0f} points, and its exact 95% interval is {interval}." if count else
            "No subject was evaluated.")


def subject_rows(rows: list[dict[str, Any]]) -> list[dict[str, str]]:
    """One text row per subject: name, cells, score with its 95% interval, answer, truth, right or wrong."""
    return [{"Subject": str(row["subject"]), "Cells": f"{row['cells']:,}",
             "Subject score (95% interval over its cells)": f"{format_number(row['score'])} ({format_interval(row['interval'])})",
             "Answer": display_name(row["answer"]), "Truth": display_name(row["truth"]),
             "Right": "yes" if row["answer"] == row["truth"] else "NO"} for row in rows]


def summary_rows(summary: dict[str, Any]) -> list[dict[str, str]]:
    """Subject-level accuracy (exact Clopper-Pearson 95% CI) and ROC AUC (subject bootstrap 95% CI)."""
    correct, count = summary.get("correct"), summary.get("subjects")
    return [
        {"Metric": "Subjects answered right", "Value": f"{correct} of {count}" if count else "none", "95% CI": ""},
        {"Metric": "Subject-level accuracy", "Value": format_number(summary.get("accuracy")),
         "95% CI": format_interval(summary.get("accuracy_ci")) + " (exact, Clopper-Pearson)"},
        {"Metric": "Subject-level ROC AUC", "Value": format_number(summary.get("roc_auc")),
         "95% CI": format_interval(summary.get("roc_auc_ci")) + _auc_interval_words(summary.get("roc_auc_ci"))},
    ]


def _auc_interval_words(interval: Any) -> str:
    """How the AUC interval was made; a collapsed one says it cannot show the uncertainty."""
    if isinstance(interval, list) and len(interval) == 2 and interval[0] == interval[1]:
        return (" (bootstrap over subjects: every resample ranks its subjects alike, so this interval "
                "cannot show how uncertain so few subjects leave the AUC)")
    return " (bootstrap over subjects)"


def rule_rows(compared: dict[str, dict[str, Any]], chosen: str) -> list[dict[str, str]]:
    """One text row per aggregation rule, the chosen one marked."""
    return [{"Rule": rules.RULE_NAMES.get(rule, rule) + (" (used)" if rule == chosen else ""),
             "Subjects right": f"{summary.get('correct')} of {summary.get('subjects')}",
             "Accuracy (95% CI)": f"{format_number(summary.get('accuracy'))} ({format_interval(summary.get('accuracy_ci'))})",
             "ROC AUC": format_number(summary.get("roc_auc"))} for rule, summary in compared.items()]


def stable_text(found: dict[str, Any], share: float = 0.95) -> str | None:
    """"With N cells, 95% of these subjects already got their all-cells answer", or None when never."""
    cells = found.get("stable_after")
    if cells is None:
        return None
    return f"With {cells} cell{'s' if cells != 1 else ''}, {share:.0%} of these subjects already got the answer all their cells give."


def cells_needed_figure(curve: list[dict[str, Any]]) -> go.Figure:
    """Accuracy, AUC and agreement with the all-cells answer against the number of cells drawn per subject.

    Agreement is dotted: where every subject's all-cells answer is right it lies on the accuracy curve.
    """
    cells = [point["cells"] for point in curve]
    figure = go.Figure()
    for key, name in CURVE_NAMES.items():
        figure.add_trace(go.Scatter(
            x=cells, y=[point.get(key) for point in curve], name=name, mode="lines+markers",
            line={"color": CURVE_COLORS[key], "dash": "dot" if key == "agreement" else "solid"}, customdata=[point["subjects"] for point in curve],
            hovertemplate="%{x} cells per subject<br>%{y:.3f}<br>%{customdata} subjects<extra></extra>"))
    return figure.update_layout(
        title="How many cells are enough: answers from random subsets of each subject's cells",
        xaxis={"title": "cells drawn per subject", "type": "log", "tickvals": cells},
        yaxis={"title": "share (AUC: area)", "range": [0, 1.02]}, legend={"orientation": "h", "y": -0.25})
