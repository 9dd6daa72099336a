"""One classified image on screen: heading, scope warning, answer, stages, report download."""
from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import streamlit as st

from core.data import labels
from core.reporting.html_report import build_report
from ui.classify_widgets import UploadOutcome
from ui.frame import plain

LOGGER = logging.getLogger(__name__)
REPORT_OVERLAY_OPACITY = 0.45
TTA_EXPLANATION = (
    "Uncertainty is the mean ± spread of P(ALL) over 8 flips and rotations of the crop: a cell has "
    "no up or down, so a large spread means a fragile answer."
)


def answer_text(label: str) -> str:
    """'all' -> 'ALL', 'hem' -> 'Healthy': the short answer shown in headings and tables."""
    return labels.display_name(label)


def views_disagree(prediction) -> bool:
    """True when the mean over the 8 views falls on the other side of the threshold than the answer."""
    if prediction.tta_mean is None:
        return False
    return bool(labels.calls_all(prediction.tta_mean, prediction.threshold)) != (prediction.label == labels.POSITIVE_LABEL)


def render_answer(outcome: UploadOutcome) -> None:
    """Answer, P(ALL), threshold and the test-time-augmentation spread, as metrics."""
    prediction = outcome.analysis.prediction
    suffix = " (out of scope)" if not outcome.analysis.in_scope else ""
    answer, probability, threshold, spread = st.columns(4)
    answer.metric(f"Answer{suffix}", answer_text(prediction.label), help=labels.LONG_NAMES[prediction.label])
    probability.metric("P(ALL)", f"{prediction.probability_all:.3f}")
    threshold.metric("Threshold (model card)", f"{prediction.threshold:.3f}", help="ALL when P(ALL) ≥ threshold.")
    if prediction.tta_mean is not None:
        spread.metric("Uncertainty (8 views)", f"{prediction.tta_mean:.3f} ± {prediction.tta_std:.3f}")
        st.caption(TTA_EXPLANATION)
    render_orientation_warning(prediction)


def render_orientation_warning(prediction) -> None:
    """The warning shown when the 8-view mean lands on the other side of the threshold than the answer."""
    if views_disagree(prediction):
        st.warning("Averaged over the 8 flipped and rotated views, P(ALL) lands on the other side of the "
                   "threshold: this answer depends on the cell's orientation, so treat it as unreliable.",
                   icon=":material/sync_problem:")


def render_scope_warning(analysis) -> None:
    """The out-of-scope warning with its reasons, when the image does not look like a C-NMC cell."""
    if not analysis.in_scope:
        reasons = "\n".join(f"- {reason}" for reason in analysis.scope_reasons)
        st.warning("**Out of scope: this does not look like one segmented cell on a dark background**, "
                   f"so the answer below is not meaningful.\n{reasons}", icon=":material/warning:")


def render_stages(outcome: UploadOutcome) -> None:
    """The preprocessing stages side by side: original, CLAHE, Otsu mask, model input."""
    stages = outcome.analysis.stages
    columns = st.columns(4)
    pictures = [(outcome.image_rgb, "Original"), (stages.clahe, "Grayscale + CLAHE"),
                (stages.mask, "Otsu mask (largest blob)"), (stages.model_input, "Crop = model input")]
    for column, (picture, caption) in zip(columns, pictures):
        column.image(picture, caption=caption, width="stretch")


def report_maker(outcome: UploadOutcome, classifier, explainer) -> Callable[[], str]:
    """A no-argument function that writes the HTML report; Streamlit calls it on click, off the script thread."""

    def make() -> str:
        overlay_rgb = None
        if explainer is not None:
            overlay_rgb = heatmap_overlay(explainer, outcome)
        loaded = classifier.loaded
        return build_report(outcome.name, outcome.image_rgb, outcome.analysis, loaded.metadata, loaded.sha256, overlay_rgb)

    return make


def report_explainer(classifier):
    """The Explain page's cached Explainer for this model, or None when it cannot be built."""
    try:
        from ui import cache

        return cache.get_explainer(classifier)
    except Exception:  # The report then goes without a heatmap; the Explain page shows the error.
        LOGGER.exception("No explainer for the report")
        return None


def heatmap_overlay(explainer, outcome: UploadOutcome) -> np.ndarray | None:
    """Grad-CAM of the answered class on the model input, or None when explaining fails."""
    try:
        from core.explain.heatmaps import overlay

        model_input = outcome.analysis.stages.model_input
        heatmap = explainer.explain(model_input, method="gradcam", target=outcome.analysis.prediction.label)
        return overlay(model_input, heatmap, REPORT_OVERLAY_OPACITY)
    except Exception:  # The report is still useful without its heatmap.
        LOGGER.exception("Grad-CAM for the report of %r failed", outcome.name)
        return None


def render_result(outcome: UploadOutcome, classifier) -> None:
    """Everything about one successfully classified image."""
    prediction = outcome.analysis.prediction
    st.subheader(f"{plain(outcome.name)}: {answer_text(prediction.label)}", anchor=False)
    render_scope_warning(outcome.analysis)
    for note in outcome.notes:
        st.caption(plain(note))
    render_answer(outcome)
    render_stages(outcome)
    if outcome.dataset_label:
        st.caption(f"Label in the dataset: {answer_text(outcome.dataset_label)}.")
    left, right = st.columns(2)
    left.download_button("Download a report (HTML)", report_maker(outcome, classifier, report_explainer(classifier)),
                         file_name=f"report-{outcome.digest[:12]}.html", mime="text/html", icon=":material/download:",
                         on_click="ignore")
    right.page_link("pages/explain.py", label="Explain this answer (Grad-CAM)", icon=":material/visibility:")
