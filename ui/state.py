"""The one place session state is defined: every key a user carries between pages, set up once.

`init_session_state` runs in the entrypoint, which every page run passes through (deep links too, under `st.navigation`);
everything else reads and writes the keys through the functions here, and the uploads kept across
pages through `ui.kept_uploads`.
"""
from __future__ import annotations

import secrets
import uuid
from pathlib import Path
from typing import NamedTuple

import numpy as np
import streamlit as st

from core import config
from ui import server_memory

MODEL_PATH_KEY = "model_path"
DATA_DIR_KEY = "data_dir"
LAST_IMAGE_KEY = "last_image"  # dict(name, digest, side) of the image last classified (its array: ui.server_memory)
MODEL_ERROR_KEY = "model_error"  # why the model could not be loaded, or None
DATASET_ERROR_KEY = "dataset_error"  # why the dataset could not be indexed, or None
ERROR_RATE_KEY = "error_rate_percent"  # the conformal error rate the user chose, in percent (copied from the widget)
ERROR_RATE_WIDGET_KEY = "error_rate_input"  # the sidebar's number input that sets it
DEFAULT_ERROR_RATE_PERCENT = 5.0
STAIN_KEY = "stain_normalised"  # True: cells are moved to the model's training stain first (copied from the widget)
STAIN_WIDGET_KEY = "stain_input"  # the sidebar's toggle that sets it
SESSION_TOKEN_KEY = "session_token"  # a random id telling this session's demo build from others'
LAST_PATIENT_KEY = "last_patient"  # the person last answered on the Patient page (ui.patient_widgets.PatientView), or None
# The Quiz page, this session only (nothing is stored anywhere else).
QUIZ_SOURCE_KEY = "quiz_source"  # where the cells come from (core.data.quiz_cells REAL / HELD_OUT), or None: the default
QUIZ_SEED_KEY = "quiz_seed"  # the random seed of this round's draw (new at every restart)
QUIZ_CELLS_KEY = "quiz_cells"  # (source, [Sample]) drawn for this round, or None before the draw
QUIZ_ANSWERS_KEY = "quiz_answers"  # [core.reporting.quiz.QuizAnswer] of the cells answered, in order
QUIZ_REVEALED_KEY = "quiz_revealed"  # True while the last answered cell's truth is shown
UPLOADS_KEY = "kept_uploads"  # [ui.kept_uploads.UploadName] uploaded on Classify this session, oldest first (bounded)
UPLOADER_SEEN_KEY = "uploader_seen"  # {(name, digest)} the Classify uploader held on its last run
UPLOADER_GENERATION_KEY = "uploader_generation"  # bumped by "Clear uploads" to give the uploader a new, empty widget
UPLOAD_NOTICE_KEY = "upload_notice"  # the sentence saying which uploads were dropped to stay in bounds, or None


def init_session_state() -> None:
    """Initialise every session key once, in one place (called by the entrypoint)."""
    st.session_state.setdefault(MODEL_PATH_KEY, str(config.default_model_path()))
    st.session_state.setdefault(DATA_DIR_KEY, str(config.default_data_dir()))
    st.session_state.setdefault(LAST_IMAGE_KEY, None)
    st.session_state.setdefault(MODEL_ERROR_KEY, None)
    st.session_state.setdefault(DATASET_ERROR_KEY, None)
    st.session_state.setdefault(ERROR_RATE_KEY, DEFAULT_ERROR_RATE_PERCENT)
    st.session_state.setdefault(STAIN_KEY, False)
    st.session_state.setdefault(SESSION_TOKEN_KEY, uuid.uuid4().hex)
    st.session_state.setdefault(LAST_PATIENT_KEY, None)
    st.session_state.setdefault(QUIZ_SOURCE_KEY, None)
    st.session_state.setdefault(QUIZ_SEED_KEY, secrets.randbits(32))
    st.session_state.setdefault(QUIZ_CELLS_KEY, None)
    st.session_state.setdefault(QUIZ_ANSWERS_KEY, [])
    st.session_state.setdefault(QUIZ_REVEALED_KEY, False)
    st.session_state.setdefault(UPLOADS_KEY, [])
    st.session_state.setdefault(UPLOADER_SEEN_KEY, set())
    st.session_state.setdefault(UPLOADER_GENERATION_KEY, 0)
    st.session_state.setdefault(UPLOAD_NOTICE_KEY, None)


def model_path() -> Path:
    return Path(st.session_state.get(MODEL_PATH_KEY, config.default_model_path()))


def data_dir() -> Path:
    return Path(st.session_state.get(DATA_DIR_KEY, config.default_data_dir()))


def model_error() -> str | None:
    return st.session_state.get(MODEL_ERROR_KEY)


def error_rate() -> float:
    """The conformal error rate in (0, 1) that decides "refer" (the sidebar sets it; 5% by default)."""
    return float(st.session_state.get(ERROR_RATE_KEY, DEFAULT_ERROR_RATE_PERCENT)) / 100


def stain_normalised() -> bool:
    """True when the user asked for cells to be moved to the model's training stain (the sidebar's toggle; off by default)."""
    return bool(st.session_state.get(STAIN_KEY, False))


def dataset_error() -> str | None:
    return st.session_state.get(DATASET_ERROR_KEY)


class LastImage(NamedTuple):
    """The image last classified: its name, SHA-256, (H, W, 3) uint8 RGB (None once the server let it go), sample side.

    `analysis` is the `core.model.analysis.CellAnalysis` Classify measured with the model of key `model`
    (`ui.cache.model_key`), for a cell found in a smear field (its lineage findings come from the field, so
    analysing the cut-out alone would lose them); None otherwise.
    """

    name: str
    digest: str
    image_rgb: np.ndarray | None
    side: str | None
    analysis: object | None = None
    model: str = ""


def remember_image(name: str, image_rgb: np.ndarray, digest: str, side: str | None = None, analysis=None,
                   model: str = "") -> None:
    """Carry the image last classified, and its sample side (None for an upload), to the Explain page (this session only).

    The array (and a field cell's `analysis`, see `LastImage`) goes to the server-wide store (`ui.server_memory`),
    bounded for all sessions together; session state keeps its name, digest and side, so that the Explain page can
    say which image was let go.
    """
    server_memory.keep(session_token(), LAST_IMAGE_KEY, (digest, image_rgb, analysis, model))
    st.session_state[LAST_IMAGE_KEY] = {"name": name, "digest": digest, "side": side}


def last_image() -> LastImage | None:
    """The image last classified in this session, or None when there was none; its `image_rgb` is None once let go."""
    last = st.session_state.get(LAST_IMAGE_KEY)
    if last is None:
        return None
    kept = server_memory.fetch(session_token(), LAST_IMAGE_KEY)
    if kept is None or kept[0] != last["digest"]:
        return LastImage(last["name"], last["digest"], None, last.get("side"))
    _, image_rgb, *measured = kept  # (digest, image, analysis, model key); a 2-tuple carries no analysis
    return LastImage(last["name"], last["digest"], image_rgb, last.get("side"), *measured)


def session_token() -> str:
    return st.session_state.get(SESSION_TOKEN_KEY, "")


def remember_patient(view) -> None:
    """Keep the person last answered on the Patient page, so that it is still there after a visit to Explain."""
    st.session_state[LAST_PATIENT_KEY] = view


def last_patient():
    """The `ui.patient_widgets.PatientView` last answered in this session, or None."""
    return st.session_state.get(LAST_PATIENT_KEY)
def restart_quiz(source: str | None = None) -> None:
    """Forget this round (its cells, answers and seed); the next one draws new cells, from `source` when given."""
    if source is not None:
        st.session_state[QUIZ_SOURCE_KEY] = source
    st.session_state[QUIZ_SEED_KEY] = secrets.randbits(32)
    st.session_state[QUIZ_CELLS_KEY] = None
    st.session_state[QUIZ_ANSWERS_KEY] = []
    st.session_state[QUIZ_REVEALED_KEY] = False


def quiz_answers() -> list:
    """The `QuizAnswer`s of this round so far (the list in session state: append to it)."""
    return st.session_state.setdefault(QUIZ_ANSWERS_KEY, [])


def quiz_revealed() -> bool:
    return bool(st.session_state.get(QUIZ_REVEALED_KEY, False))


def set_quiz_revealed(revealed: bool) -> None:
    st.session_state[QUIZ_REVEALED_KEY] = revealed
