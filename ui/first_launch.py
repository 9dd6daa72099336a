"""First launch: no model yet, the offer to build the demo model, and the build's live progress.

The build runs once per process in the background (`ui.demo_build`); every session shows its
progress and carries on by itself when the model is there.
"""
from __future__ import annotations

import streamlit as st

from core import config
from ui import cache, state
from ui.demo_build import EVALUATING, TRAINING
from ui.messages import show_error

BUILD_REFRESH_SECONDS = 1.0


def format_duration(seconds: float) -> str:
    """12.3 -> '12 s', 95 -> '1 min 35 s'."""
    seconds = max(0, round(seconds))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


def render_model_missing() -> None:
    """Say there is no model yet (or why it did not load) and offer to build the demo model here."""
    if render_build_notice():
        return
    job, path = cache.demo_build_job(), state.model_path()
    status = job.status()
    if config.inference_url():  # The app asks a service for the model's values: say what it said, not "build one".
        show_error(f"The model is not available: {state.model_error() or ''}")
        st.info(f"This app asks the inference service at `{config.inference_url()}` (`LEUKEMIA_INFERENCE_URL`) for the "
                f"model's values. Start it with `python -m core.serve --model {path}`, then reload this page.")
        return
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
