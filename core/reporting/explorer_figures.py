"""The Dataset explorer's plotly charts: class balance, held-out sets, subjects, images per subject."""
from __future__ import annotations

import plotly.graph_objects as go

from core.data.labels import UNLABELED
from core.data.layout import TRAINING_FOLDS
from core.data.sides import SPLIT_NAMES
from core.reporting.explorer import class_name, training_counts

CLASS_COLORS = {"all": "#c0392b", "hem": "#2e86c1", UNLABELED: "#95a5a6"}
TOP_LEGEND = {"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "left", "x": 0.0}


def _bar(name: str, x: list, y: list, color: str) -> go.Bar:
    return go.Bar(name=name, x=x, y=y, marker_color=color, text=y, textposition="auto")


def class_balance_figure(summary: dict) -> go.Figure:
    """Grouped bars of "all" and "hem" images per training fold and over all folds."""
    folds = [split for split in TRAINING_FOLDS if split in summary["images"]]
    totals = training_counts(summary)
    x = folds + ["all folds"]
    figure = go.Figure([
        _bar(class_name(label), x, [summary["images"][fold].get(label, 0) for fold in folds] + [totals[label]],
             CLASS_COLORS[label])
        for label in ("all", "hem")
    ])
    return figure.update_layout(barmode="group", title="Class balance in the training folds",
                                yaxis_title="images", legend=TOP_LEGEND)


def held_out_figure(summary: dict) -> go.Figure:
    """Stacked bars of the external validation set (labelled) and the unlabeled test set."""
    splits = [split for split in ("validation", "test") if split in summary["images"]]
    traces = [
        _bar(class_name(label), [SPLIT_NAMES[split] for split in splits], [summary["images"][split].get(label, 0) for split in splits],
             CLASS_COLORS[label])
        for label in ("all", "hem", UNLABELED)
    ]
    figure = go.Figure([trace for trace in traces if any(trace.y)])
    return figure.update_layout(barmode="stack", title="External set and unlabeled test set",
                                yaxis_title="images", legend=TOP_LEGEND)


def subjects_figure(summary: dict) -> go.Figure:
    """Bars of the number of training subjects (patients or donors) per class."""
    labels = ["all", "hem"]
    counts = [summary["subjects"].get(label, 0) for label in labels]
    figure = go.Figure(go.Bar(
        x=[class_name(label) for label in labels], y=counts, text=counts,
        marker_color=[CLASS_COLORS[label] for label in labels],
    ))
    return figure.update_layout(title="Subjects per class (training folds)", yaxis_title="subjects")


def images_per_subject_figure(rows: list[dict]) -> go.Figure:
    """Sorted bars, one per subject, coloured by class: how unevenly subjects contribute cells."""
    figure = go.Figure()
    for label in ("all", "hem"):
        mine = [row for row in rows if row["label"] == label]
        figure.add_trace(go.Bar(
            name=class_name(label), x=[row["subject"] for row in mine], y=[row["images"] for row in mine],
            marker_color=CLASS_COLORS[label], customdata=[row["split"] for row in mine],
            hovertemplate="subject %{x}<br>%{y} images<br>%{customdata}<extra></extra>",
        ))
    order = [row["subject"] for row in rows]
    return figure.update_layout(
        title="Images per subject (training folds)", yaxis_title="images", legend=TOP_LEGEND,
        # Subject ids such as "5" look numeric: force a categorical axis so "H3" shows too.
        xaxis={"type": "category", "categoryorder": "array", "categoryarray": order, "title": "subject"},
    )
