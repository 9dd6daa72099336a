"""The frame the entrypoint draws around every page: the research-only notice and the sidebar status.

The screens live in `app_pages/`, a folder Streamlit does not scan by itself, so no page ever
runs without the entrypoint and its frame. Functions named `render_...` draw; they take plain
values or read the cached resources, and never compute anything themselves.
"""
from __future__ import annotations

import streamlit as st

from core import config
from ui import cache, state
from ui.messages import plain

PAGE_CONFIG = {"page_title": "Leukemia cell classifier", "page_icon": "🔬", "layout": "wide"}


def render_disclaimer() -> None:
    """The research-and-education-only notice, shown on every page by the entrypoint."""
    st.caption(f":material/info: {config.DISCLAIMER}")


def render_model_status() -> None:
    """Sidebar block: which model is in use, whether it is the demo, and its integrity check."""
    st.markdown("**Model**")
    classifier = cache.get_classifier()
    path = state.model_path()
    if classifier is None:
        if not path.exists() and cache.demo_build_job().status().running:
            st.caption(f"The demo model is being built (progress on the page). It will be at `{path}`.")
        elif not path.exists():
            st.caption(f"No model yet. Expected at `{path}`.")
        else:
            st.caption(f"{plain(str(path))} could not be loaded: {plain(state.model_error() or '')}")
        return
    loaded = classifier.loaded
    kind = "demo model (synthetic cells)" if loaded.metadata.get("is_demo") else "trained model"
    check = {True: ":green[SHA-256 matches its model card]", False: ":red[SHA-256 does not match its model card]",
             None: ":orange[no SHA-256 recorded to check]"}[loaded.sha256_matches]
    st.caption(f"{plain(loaded.metadata.get('model_name', path.stem))}, {kind}  \n`{path}`  \n{check}")
    if loaded.model is None:  # `LEUKEMIA_INFERENCE_URL`: the passes run in the inference service
        st.caption(f"Answers from the inference service at `{config.inference_url()}` (heatmaps run here)")
    for warning in loaded.warnings:  # A missing or incomplete model card, a file changed after training.
        st.caption(f":orange[{plain(warning)}]")


def render_dataset_status() -> None:
    """Sidebar block: which data folder is in use and how many images it holds, or its problem."""
    st.markdown("**Dataset**")
    index = cache.get_dataset_index()
    if index is None and state.data_dir() == config.default_data_dir() and not state.data_dir().exists():
        st.caption(f"`{state.data_dir()}`  \nThe synthetic demo cells are drawn when the demo model is built (Classify page).")
        return
    if index is None:
        st.caption(f"{plain(str(state.data_dir()))}: {plain(state.dataset_error() or '')}")
        return
    st.caption(f"`{index.root}`  \n{len(index.records):,} images")


def render_sidebar_status() -> None:
    """Model and dataset status, in the sidebar of every page."""
    with st.sidebar:
        render_model_status()
        render_dataset_status()
        chosen = st.number_input("Error rate for \"refer\" (%)", min_value=0.5, max_value=40.0, step=0.5,
                                 value=state.DEFAULT_ERROR_RATE_PERCENT, key=state.ERROR_RATE_WIDGET_KEY,
                                 help="Conformal prediction: the share of cells of each class allowed to miss their class. "
                                      "Lower means more answers say \"refer\". Used by models with calibration.")
        st.session_state[state.ERROR_RATE_KEY] = chosen
        normalise = st.toggle("Move cells to the model's stain", value=False, key=state.STAIN_WIDGET_KEY,
                              help="Reinhard stain normalisation, after segmentation: each cell's colours are moved to "
                                   "those of the model's training cells (from its model card). For cells stained in "
                                   "another lab; every answer says when it was applied.")
        st.session_state[state.STAIN_KEY] = normalise


def render_frame() -> None:
    """What every page shows around its own content: the sidebar status and the research-only notice."""
    render_sidebar_status()
    render_disclaimer()
