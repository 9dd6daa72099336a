"""Plotly figures of one person's cells: the spread of their P(ALL) and the running subject estimate."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from core.data import labels
from core.subjects.rules import RULE_NAMES
from core.reporting.figures import MODEL_COLOR, REFERENCE_LINE

ANSWER_COLORS = {"ALL": "#c0392b", "Healthy": "#2e86c1", "Refer": "#999999"}


def distribution_figure(probabilities_all: Sequence[float], answers: Sequence[str], threshold: float) -> go.Figure:
    """Histogram of the cells' raw P(ALL) in 20 bins over [0, 1], stacked by answer, with the threshold line.

    Args:
        probabilities_all: (n,) raw P(ALL) of the assessed cells.
        answers: their answers as people read them ("ALL", "Healthy", "Refer" or the out-of-scope sentence).
        threshold: the model card's decision threshold on P(ALL).
    """
    figure = go.Figure()
    grouped: dict[str, list[float]] = {}
    for probability, answer in zip(probabilities_all, answers):
        grouped.setdefault(answer if answer in ANSWER_COLORS else "Refer", []).append(float(probability))
    for answer, values in grouped.items():
        figure.add_trace(go.Histogram(x=values, name=answer, marker_color=ANSWER_COLORS[answer],
                                      xbins={"start": 0.0, "end": 1.0, "size": 0.05}))
    figure.add_vline(x=threshold, line=REFERENCE_LINE, annotation_text=f"threshold {threshold:.2f}",
                     annotation_position="top left")
    return figure.update_layout(barmode="stack", title="P(ALL) of each cell", xaxis_title="P(ALL)",
                                yaxis_title="cells", xaxis_range=[0, 1], legend_title="cell's answer")


def running_figure(running: np.ndarray, decision_threshold: float, rule: str) -> go.Figure:
    """The subject score after the first 1, 2, ..., n usable cells, with the subject-level threshold.

    Args:
        running: (n,) subject scores in [0, 1] (`core.subjects.rules.running_scores`).
        decision_threshold: the score at and above which the subject is answered ALL.
        rule: the aggregation rule, named on the axis.
    """
    cells = np.arange(1, len(running) + 1)
    figure = go.Figure(go.Scatter(x=cells, y=running, mode="lines+markers" if len(running) <= 50 else "lines",
                                  line={"color": MODEL_COLOR}, name="subject score",
                                  hovertemplate="after %{x} cells: %{y:.3f}<extra></extra>"))
    figure.add_hline(y=decision_threshold, line=REFERENCE_LINE,
                     annotation_text=f"{labels.DISPLAY_NAMES[labels.ALL]} at or above {decision_threshold:.2f}")
    return figure.update_layout(title="The answer as cells are added", xaxis_title="usable cells so far",
                                yaxis_title=f"subject score ({RULE_NAMES[rule]})", yaxis_range=[0, 1])
