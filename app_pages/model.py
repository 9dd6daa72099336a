"""Model card: what the model in use is, what it was trained on, and how well it did on held-out data."""
from __future__ import annotations

import streamlit as st

from core.errors import ModelError
from core.reporting import figures
from ui import audit_widgets, cache, first_launch, model_widgets, state
from ui.messages import show_error, show_warning
from ui.subject_widgets import subject_evaluation_ui


def render_model_page() -> None:
    """The sidecar of the model in use, or how to get a model; then integrity, facts, metrics and history."""
    st.title("Model card")
    st.caption("What the model in use is, what it learned from, and how it did on cells it never saw.")
    path = state.model_path()
    try:
        metadata, notes = cache.model_sidecar()
    except ModelError as error:
        show_error(error)
        return
    if not path.is_file() and not metadata:
        if first_launch.render_build_notice():
            return
        st.info(f"There is no model at `{path}` yet. Build the demo model on the **Classify** page, or run "
                "`python train.py --demo` (synthetic cells) or `python train.py --data-dir PATH` (C-NMC 2019).")
        return
    for note in notes:
        show_warning(note)
    model_widgets.integrity_ui(metadata)
    model_widgets.about_ui(metadata)
    st.header("Performance on held-out data", anchor=False)
    model_widgets.evaluation_ui(metadata)
    if metadata.get("evaluation"):
        st.header("Calibration and when to refer", anchor=False)
        model_widgets.conformal_ui(metadata)
    subject_evaluation_ui(metadata)
    st.header("Out of distribution: cells unlike the known ones", anchor=False)
    model_widgets.ood_ui(metadata)
    st.header("Explanations: how faithful each method is", anchor=False)
    audit_widgets.explanation_audit_ui(metadata)
    if (metadata.get("history") or {}).get("loss"):
        st.header("Training history", anchor=False)
        st.plotly_chart(figures.training_figure(metadata["history"]))
    with st.expander("Provenance: arguments and library versions"):
        st.json({key: metadata.get(key) for key in ("arguments", "library_versions", "training", "preprocessing")})


render_model_page()
