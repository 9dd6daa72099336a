"""Plotly figures of a model's stored evaluation and training history, for the Model card.

Each builder takes the plain lists the sidecar holds (see `core.reporting.evaluation`) and returns a
`plotly.graph_objects.Figure`; none of them needs the model itself.
"""
from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.data.labels import ALL, HEM, display_name

MODEL_COLOR = "#1f4e79"
TRAIN_COLOR, VALIDATION_COLOR = "#1f77b4", "#ff7f0e"
REFERENCE_LINE = {"dash": "dash", "color": "#888888"}
CLASS_AXIS = [display_name(HEM), display_name(ALL)]  # The rows and columns of [[tn, fp], [fn, tp]].
METRIC_NAMES = {"loss": "loss", "auc": "ROC AUC"}


def confusion_figure(matrix: list[list[int]], title: str = "Confusion matrix at the model's threshold") -> go.Figure:
    """Heatmap of [[tn, fp], [fn, tp]]: rows are the true class, columns the prediction."""
    figure = go.Figure(go.Heatmap(
        z=matrix, x=CLASS_AXIS, y=CLASS_AXIS, text=matrix, texttemplate="%{text}",
        colorscale="Blues", showscale=False,
        hovertemplate="true %{y}<br>predicted %{x}<br>%{z} images<extra></extra>",
    ))
    return figure.update_layout(
        title=title,
        xaxis_title="predicted", yaxis={"title": "true", "autorange": "reversed"},
    )


def roc_figure(roc_curve: dict[str, Any], operating_point: tuple[float, float] | None = None) -> go.Figure:
    """ROC curve, the chance diagonal and, given (sensitivity, specificity), a marker there."""
    figure = go.Figure([
        go.Scatter(x=roc_curve["fpr"], y=roc_curve["tpr"], name="model", line={"color": MODEL_COLOR},
                   customdata=roc_curve.get("thresholds"),
                   hovertemplate="threshold %{customdata:.3f}<br>1 - specificity %{x:.3f}<br>sensitivity %{y:.3f}<extra></extra>"),
        go.Scatter(x=[0, 1], y=[0, 1], name="chance (and always \"ALL\" at 1, 1)", mode="lines", line=REFERENCE_LINE),
    ])
    if operating_point is not None:
        sensitivity, specificity = operating_point
        figure.add_trace(go.Scatter(x=[1 - specificity], y=[sensitivity], name="threshold on the slider",
                                    mode="markers", marker={"size": 12, "color": "#c0392b"}))
    return figure.update_layout(title="ROC curve", xaxis_title="1 - specificity (false-positive rate)",
                                yaxis_title="sensitivity (true-positive rate)", xaxis_range=[0, 1], yaxis_range=[0, 1.02])


def pr_figure(pr_curve: dict[str, Any], prevalence: float | None = None) -> go.Figure:
    """Precision-recall curve for "all", with always-"all"'s precision (the prevalence) as a line."""
    figure = go.Figure(go.Scatter(
        x=pr_curve["recall"], y=pr_curve["precision"], name="model", line={"color": MODEL_COLOR},
        customdata=pr_curve.get("thresholds"),
        hovertemplate="threshold %{customdata:.3f}<br>recall %{x:.3f}<br>precision %{y:.3f}<extra></extra>",
    ))
    if prevalence is not None:
        figure.add_trace(go.Scatter(x=[0, 1], y=[prevalence, prevalence], mode="lines", line=REFERENCE_LINE,
                                    name=f'always "ALL" (precision {prevalence:.2f})'))
    return figure.update_layout(title="Precision-recall curve (positive class: ALL)", xaxis_title="recall (sensitivity)",
                                yaxis_title="precision", xaxis_range=[0, 1], yaxis_range=[0, 1.02])


def calibration_figure(calibration: dict[str, Any]) -> go.Figure:
    """Reliability diagram (mean P(all) against the observed share of "all" per bin) over bin counts."""
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.75, 0.25], vertical_spacing=0.05)
    predicted, observed = calibration["bin_mean_predicted"], calibration["bin_fraction_positive"]
    counts = calibration.get("bin_count") or [None] * len(predicted)
    figure.add_trace(go.Scatter(x=predicted, y=observed, name="model", mode="lines+markers",
                                line={"color": MODEL_COLOR}, customdata=counts,
                                hovertemplate="mean P(ALL) %{x:.2f}<br>share ALL %{y:.2f}<br>%{customdata} images<extra></extra>"),
                     row=1, col=1)
    figure.add_trace(go.Scatter(x=[0, 1], y=[0, 1], name="perfectly calibrated", mode="lines", line=REFERENCE_LINE),
                     row=1, col=1)
    figure.add_trace(go.Bar(x=predicted, y=counts, name="images per bin", marker_color="#aab7c4", width=0.05),
                     row=2, col=1)
    figure.update_xaxes(range=[0, 1], row=1, col=1)
    figure.update_xaxes(title_text="mean predicted P(ALL) in the bin", range=[0, 1], row=2, col=1)
    figure.update_yaxes(title_text="observed share of ALL", range=[0, 1.02], row=1, col=1)
    figure.update_yaxes(title_text="images", row=2, col=1)
    return figure.update_layout(title="Calibration (reliability diagram)")


def phase_starts(phases: list[str]) -> list[tuple[int, str]]:
    """(epoch index, phase name) wherever a new training phase begins after the first epoch."""
    return [(index, phase) for index, phase in enumerate(phases) if index and phase != phases[index - 1]]


def training_figure(history: dict[str, list]) -> go.Figure:
    """Loss and ROC AUC per epoch, training and tuning subjects (Keras' val_ curves), with a line where fine-tuning begins."""
    figure = make_subplots(rows=1, cols=2, subplot_titles=("Loss", "ROC AUC"))
    for column, metric in enumerate(("loss", "auc"), start=1):
        for prefix, color, name in (("", TRAIN_COLOR, "training"), ("val_", VALIDATION_COLOR, "tuning subjects")):
            values = history.get(prefix + metric) or []
            if values:
                figure.add_trace(go.Scatter(
                    x=list(range(1, len(values) + 1)), y=values, name=f"{name} {METRIC_NAMES[metric]}", mode="lines+markers",
                    line={"color": color, "dash": "solid" if prefix else "dot"},
                ), row=1, col=column)
    for index, phase in phase_starts(history.get("phase") or []):
        figure.add_vline(x=index + 0.5, line=REFERENCE_LINE, annotation_text=f"{phase} starts")
    figure.update_xaxes(title_text="epoch")
    return figure.update_layout(title="Loss and ROC AUC per epoch (dotted: training, solid: tuning subjects, which chose the epoch)")


def reliability_before_after_figure(report: dict[str, Any]) -> go.Figure:
    """Reliability diagrams of raw and temperature-scaled P(all), each named with its ECE and Brier score."""
    figure = go.Figure(go.Scatter(x=[0, 1], y=[0, 1], name="perfectly calibrated", mode="lines", line=REFERENCE_LINE))
    for side, color, title in (("before", "#aab7c4", "raw P(ALL)"), ("after", MODEL_COLOR, f"T = {report.get('temperature', 1):.2f}")):
        quality = report.get(side) or {}
        reliability = quality.get("reliability") or {}
        figure.add_trace(go.Scatter(
            x=reliability.get("bin_mean_predicted"), y=reliability.get("bin_fraction_positive"), mode="lines+markers",
            name=f"{title}: ECE {quality.get('ece', float('nan')):.3f}, Brier {quality.get('brier', float('nan')):.3f}",
            line={"color": color}, customdata=reliability.get("bin_count"),
            hovertemplate="mean P(ALL) %{x:.2f}<br>share ALL %{y:.2f}<br>%{customdata} images<extra></extra>"))
    return figure.update_layout(title="Calibration before and after temperature scaling", xaxis_range=[0, 1], yaxis_range=[0, 1.02],
                                xaxis_title="mean predicted P(ALL) in the bin", yaxis_title="observed share of ALL",
                                legend={"orientation": "h", "y": -0.25})


def coverage_figure(conformal: dict[str, Any]) -> go.Figure:
    """Per class, coverage (solid) and refer rate (dotted) against the error rate, with the promised 1 - error rate."""
    error_rates = conformal["error_rates"]
    figure = go.Figure(go.Scatter(x=error_rates, y=[1 - rate for rate in error_rates], name="promised coverage (1 − error rate)",
                                  mode="lines", line=REFERENCE_LINE))
    for (label, rates), color in zip(conformal["by_class"].items(), (MODEL_COLOR, VALIDATION_COLOR)):
        for key, dash, meaning in (("coverage", "solid", "coverage"), ("refer_rate", "dot", "refer rate")):
            figure.add_trace(go.Scatter(x=error_rates, y=rates[key], name=f"{display_name(label)} ({rates.get('n', '?')} cells): {meaning}",
                                        mode="lines+markers", line={"color": color, "dash": dash}))
    return figure.update_layout(title="Conformal sets: coverage and refer rate per class", xaxis_title="error rate α",
                                yaxis_title="share of the class's cells", yaxis_range=[0, 1.02], legend={"orientation": "h", "y": -0.25})
