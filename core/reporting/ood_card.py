"""The model card's out-of-distribution section: what the score is, its threshold, and how it scores shifted cells.

Reads the sidecar's "embedding_index" entry (`core.training.neighbours`, `core.training.ood_fit`):
the calibration subjects' OOD scores and the scores of the same cells shifted by stain, blur, JPEG
and scale, stored at training or index time. From them: a plotly chart of the distributions against
the threshold, and per shift the share flagged, AUROC and FPR at 95% TPR (sklearn; the calibration
cells also set the threshold, so these figures are in-sample for the in-distribution side).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import plotly.graph_objects as go

from core.model.ood import DISTRIBUTION_KEY, ENTRY_KEY, IN_DISTRIBUTION, SCORE_NAME

MAX_GROUPS, MAX_SCORES = 16, 100_000
# How people read a stored shift's name (`core.imaging.shifts.shift_name`: "blur_sigma=2"), its strength filled in.
SHIFT_WORDS = {"stain_hue": ("stain hue turned {:g}°", 2.0), "blur_sigma": ("blurred, sigma {:g} px", 1.0),
               "jpeg_quality": ("JPEG at quality {:g}", 1.0), "scale_factor": ("captured at {:g}x the size", 1.0)}
AXIS_DECADES_ABOVE = 4  # the chart's axis ends this many decades above the threshold: far shifts pile up at its edge
THRESHOLD_LINE = {"dash": "dash", "color": "#b22222"}
OLDER_CHECK_TEXT = ("This model's index predates the stain and texture check: its OOD score is the distance to the 10th "
                    "nearest training cell's features, which misses most changes of stain and capture. Update it without "
                    "retraining: `python -m core.cli.index --model MODEL --data-dir DATA`.")


def group_name(name: str) -> str:
    """A stored group's name as people read it: "blur_sigma=2" -> "blurred, sigma 2 px"; others unchanged."""
    shift, _, strength = name.partition("=")
    words = SHIFT_WORDS.get(shift)
    try:
        return words[0].format(float(strength) * words[1]) if words else name
    except ValueError:
        return name


def distribution(entry: Any) -> dict[str, np.ndarray] | None:
    """{group: (n,) finite scores} from the entry, the calibration subjects first; None when absent or malformed."""
    groups = entry.get(DISTRIBUTION_KEY) if isinstance(entry, dict) else None
    if not isinstance(groups, dict) or not isinstance(groups.get(IN_DISTRIBUTION), list) or len(groups) > MAX_GROUPS:
        return None
    found = {}
    for name, scores in groups.items():
        if not (isinstance(name, str) and isinstance(scores, list) and len(scores) <= MAX_SCORES
                and all(isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) for value in scores)):
            return None
        found[name] = np.asarray(scores, np.float64)
    return {IN_DISTRIBUTION: found.pop(IN_DISTRIBUTION), **found}


def shift_rows(entry: dict[str, Any]) -> list[dict[str, str]]:
    """Per shifted group: cells, share flagged at the threshold, AUROC and FPR95 against the calibration cells."""
    from sklearn.metrics import roc_auc_score, roc_curve

    groups, threshold = distribution(entry), entry.get("ood_threshold")
    if groups is None or not isinstance(threshold, (int, float)):
        return []
    reference = groups[IN_DISTRIBUTION]
    rows = [{"cells": IN_DISTRIBUTION, "count": str(len(reference)), "flagged": f"{np.mean(reference > threshold):.1%}",
             "AUROC": "", "FPR95": ""}]
    for name, scores in list(groups.items())[1:]:
        if not len(scores) or not len(reference):
            continue
        truth, values = np.r_[np.zeros(len(reference)), np.ones(len(scores))], np.r_[reference, scores]
        fpr, tpr, _ = roc_curve(truth, values)
        rows.append({"cells": f"calibration cells, {group_name(name)}", "count": str(len(scores)),
                     "flagged": f"{np.mean(scores > threshold):.1%}", "AUROC": f"{roc_auc_score(truth, values):.3f}",
                     "FPR95": f"{fpr[np.searchsorted(tpr, 0.95)]:.2f}"})
    return rows


def ood_text(entry: Any) -> str:
    """What the OOD check is and where its threshold comes from, in sentences (Markdown)."""
    if not isinstance(entry, dict):
        return "This model has no index of known cells, so no out-of-distribution check."
    if ENTRY_KEY not in entry:
        return OLDER_CHECK_TEXT
    return (f"A cell is referred as **unlike the known cells** when its {SCORE_NAME} exceeds "
            f"**{float(entry.get('ood_threshold', float('nan'))):.1f}**: the squared Mahalanobis distance (one covariance "
            "shared by both classes, Lee et al. 2018) of its colour and texture over the cell mask (CIE Lab mean, spread "
            "and percentiles; background lightness; Laplacian, gradient and fine detail) from the training cells' class "
            f"means. The threshold is the {entry.get('ood_percentile', 95)}th percentile of the "
            f"{entry.get('ood_threshold_from', 'calibration subjects')}' {entry.get('ood_threshold_cells', '?')} cells, so "
            f"about {100 - float(entry.get('ood_percentile', 95)):g}% of in-distribution cells are referred by construction. "
            "It reads the image, not the network, so it sees another lab's stain or a blurred or compressed capture "
            "before the network's features do (the README's OOD study compares it with k-NN and Mahalanobis scores on "
            "ResNet50's features, and with the energy score).")


def ood_figure(entry: dict[str, Any]) -> go.Figure:
    """One box per group of the stored scores (log axis: shifted cells score orders of magnitude higher), the threshold dashed.

    The axis ends AXIS_DECADES_ABOVE decades above the threshold (a shift far out of distribution can score
    1e20 and would squeeze every box into one corner); the boxes keep their true scores on hover.
    """
    groups = distribution(entry) or {}
    figure = go.Figure([go.Box(x=np.maximum(scores, 1e-3), name=group_name(name), boxpoints="outliers", orientation="h",
                               hovertemplate="%{x:.1f}<extra>" + group_name(name) + "</extra>") for name, scores in groups.items()])
    threshold = entry.get("ood_threshold")
    axis = {"title": "OOD score (log scale; higher: less like the training cells)", "type": "log"}
    if isinstance(threshold, (int, float)) and threshold > 0:
        figure.add_vline(x=threshold, line=THRESHOLD_LINE, annotation_text=f"threshold {threshold:.1f}")
        lowest = min([float(np.max([np.min(scores), 1e-3])) for scores in groups.values() if len(scores)] + [threshold])
        highest = max([float(np.max(scores)) for scores in groups.values() if len(scores)] + [threshold])
        axis["range"] = [math.log10(lowest) - 0.2, min(math.log10(highest), math.log10(threshold) + AXIS_DECADES_ABOVE) + 0.2]
    return figure.update_layout(title=f"OOD score ({SCORE_NAME}) of in-distribution and shifted cells", xaxis=axis,
                                yaxis={"autorange": "reversed"}, showlegend=False)
