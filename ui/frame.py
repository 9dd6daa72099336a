"""UI pieces shared by every page: the research-only notice, the sidebar status, first launch.

The entrypoint draws the frame around every page; the screens live in `app_pages/`, a folder
Streamlit does not scan by itself, so no page ever runs without it.

Functions named `render_...` draw; they take plain values or read the cached resources,
and never compute anything themselves.
"""
from __future__ import annotations

import logging

import streamlit as st

from core import config
from ui import cache, state
from ui.demo_build import EVALUATING, TRAINING
from ui.messages import plain, show_error

BUILD_REFRESH_SECONDS = 1.0
PAGE_CONFIG = {"page_title": "Leukemia cell classifier", "page_icon": "🔬", "layout": "wide"}


def configure_server_log() -> None:
    """Send core's log (full Keras refusals, unexpected failures) to the server's stderr at INFO, once per process.

    The page shows a one-line summary of a refused file; the full text is for the operator.
    """
    logger = logging.getLogger("core")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def render_disclaimer() -> None:
    """The research-and-education-only notice, shown on every page by the entrypoint."""
    st.caption(f":material/info: {config.DISCLAIMER}")


def format_duration(seconds: float) -> str:
    """12.3 -> '12 s', 95 -> '1 min 35 s'."""
    seconds = max(0, round(seconds))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


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


def render_frame() -> None:
    """What every page shows around its own content: the sidebar status and the research-only notice."""
    render_sidebar_status()
    render_disclaimer()


def render_model_missing() -> None:
    """First launch: say there is no model yet and offer to build the demo model here.

    The build runs once per process in the background (`ui.demo_build`); this session
    and any other show its progress and carry on by themselves when it is done.
    """
    if render_build_notice():
        return
    job, path = cache.demo_build_job(), state.model_path()
    status = job.status()
    if path.exists():
        show_error(f"The model could not be loaded: {state.model_error() or ''}")
        st.info("Replace the file, point `LEUKEMIA_MODEL` at another model, or retrain with `python train.py`.")
        return
    st.info(f"**There is no model yet.** The app looks for it at `{path}`.", icon=":material/model_training:")
    st.markdown(
        "You can build a small **demo model** right here. It trains a ResNet50 from scratch on "
        "synthetic cells that this app draws itself (no download, no patient data), and takes a "
        "few minutes on a laptop CPU. The demo shows how the app works; its answers mean nothing "
        "about real cells. To use the real C-NMC 2019 data, see **About**."
    )
    if status.error:
        show_error(f"The last build failed: {status.error}")
    if st.button("Build the demo model", type="primary", icon=":material/play_arrow:"):
        job.start(path, config.DEMO_DATA_ROOT, owner=state.session_token(), on_success=cache.clear_model_caches)
        st.rerun()


def render_build_notice() -> bool:
    """While the demo model is being built (by any session): its live progress, and True; otherwise nothing, False.

    Every page that needs the model calls this before saying there is none.
    """
    job = cache.demo_build_job()
    if not job.status().running:
        return False
    _render_build_progress(job)
    return True


def build_step_text(status) -> str:
    """The build's step and its time as people read it: an estimate while training, none while evaluating."""
    elapsed = f"{format_duration(status.elapsed_s)} elapsed"
    if status.step == EVALUATING:
        return (f"Step 3 of 3: evaluating on the held-out subjects and the external set ({elapsed}; this step has taken "
                f"{format_duration(status.step_elapsed_s)} so far and has no estimate)")
    if status.step == TRAINING:
        left = ("measuring epoch times for an estimate…" if status.remaining_s is None else
                f"training ends in about {format_duration(status.remaining_s)} at most (sooner if it stops improving), then evaluation")
        return f"Step 2 of 3: {status.message} ({elapsed}; {left})"
    return f"Step 1 of 3: {status.message} ({elapsed})"


@st.fragment(run_every=BUILD_REFRESH_SECONDS)
def _render_build_progress(job) -> None:
    """Live progress of the running build; reruns the whole app once the model is there."""
    status = job.status()
    if not status.running:
        st.rerun(scope="app")
    who = "This session started" if status.owner == state.session_token() else "Another session started"
    st.info(f"**The demo model is being built.** {who} the build; every page will work once it is done.",
            icon=":material/hourglass_top:")
    st.progress(status.fraction, text=build_step_text(status))
