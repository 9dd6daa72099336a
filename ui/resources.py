"""The one module that wraps core loaders in Streamlit caches, shared by every page.

The model and its explainer are built once per process (keyed on the model path and its
modification time, so a retrained file is picked up); per-image results are cached by the
image's content hash. Nothing here computes: it only calls into `core`.
"""
from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import numpy as np
import streamlit as st

from core import config
from core.errors import LeukemiaAppError

MODEL_PATH_KEY = "model_path"
DATA_DIR_KEY = "data_dir"
LAST_IMAGE_KEY = "last_image"  # dict(name, image_rgb, digest) of the image last classified
MODEL_ERROR_KEY = "model_error"  # why the model could not be loaded, or None
DATASET_ERROR_KEY = "dataset_error"  # why the dataset could not be indexed, or None
SESSION_TOKEN_KEY = "session_token"  # a random id telling this session's demo build from others'


def init_session_state() -> None:
    """Initialise every session key once, in one place (called by the entrypoint)."""
    st.session_state.setdefault(MODEL_PATH_KEY, str(config.default_model_path()))
    st.session_state.setdefault(DATA_DIR_KEY, str(config.default_data_dir()))
    st.session_state.setdefault(LAST_IMAGE_KEY, None)
    st.session_state.setdefault(MODEL_ERROR_KEY, None)
    st.session_state.setdefault(DATASET_ERROR_KEY, None)
    st.session_state.setdefault(SESSION_TOKEN_KEY, uuid.uuid4().hex)


def model_path() -> Path:
    return Path(st.session_state.get(MODEL_PATH_KEY, config.default_model_path()))


def data_dir() -> Path:
    return Path(st.session_state.get(DATA_DIR_KEY, config.default_data_dir()))


def file_stamp(path: Path) -> float:
    """Modification time, or 0 when missing: part of every cache key that depends on a file."""
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def content_digest(data: bytes) -> str:
    """SHA-256 of uploaded bytes: the key of every per-image cache."""
    return hashlib.sha256(data).hexdigest()


def model_stamp(path: Path) -> tuple[float, float]:
    """Modification times of the model and its sidecar: a rewritten sidecar reloads the model too."""
    return file_stamp(path), file_stamp(config.sidecar_path(path))


@st.cache_resource(show_spinner="Loading the model…", max_entries=2)
def _classifier(path: str, stamp: tuple[float, float]):
    from core.model.inference import Classifier
    from core.model.network import load_classifier

    classifier = Classifier(load_classifier(path))
    classifier.warm_up()
    return classifier


def get_classifier():
    """The shared Classifier, or None with `st.session_state['model_error']` explaining why."""
    path = model_path()
    try:
        classifier = _classifier(str(path), model_stamp(path))
    except LeukemiaAppError as error:
        st.session_state[MODEL_ERROR_KEY] = str(error)
        return None
    st.session_state[MODEL_ERROR_KEY] = None
    return classifier


def model_error() -> str | None:
    return st.session_state.get(MODEL_ERROR_KEY)


@st.cache_resource(show_spinner="Indexing the dataset…", max_entries=4)
def _dataset_index(path: str, stamp: float):
    from core.data.index import index_dataset

    return index_dataset(path)


def dataset_error() -> str | None:
    return st.session_state.get(DATASET_ERROR_KEY)


def get_dataset_index():
    """The DatasetIndex of the folder in use, or None with `st.session_state['dataset_error']` set."""
    path = data_dir()
    try:
        index = _dataset_index(str(path), file_stamp(path))
    except LeukemiaAppError as error:
        st.session_state[DATASET_ERROR_KEY] = str(error)
        return None
    st.session_state[DATASET_ERROR_KEY] = None
    return index


@st.cache_data(max_entries=256, show_spinner=False)
def decode_upload(data: bytes, name: str):
    """Bytes -> DecodedImage (cached by content); raises ImageLoadError for bad files."""
    from core.imaging.decode import load_image

    return load_image(data, name=name)


def remember_image(name: str, image_rgb: np.ndarray, digest: str) -> None:
    """Carry the image last classified to the Explain page (this session only)."""
    st.session_state[LAST_IMAGE_KEY] = {"name": name, "image_rgb": image_rgb, "digest": digest}


def clear_model_caches() -> None:
    """Forget the loaded model (every session) so the next `get_classifier` reads the file again."""
    _classifier.clear()


def model_key(classifier) -> str:
    """Identifies the model in per-image cache keys: its path and the SHA-256 of its file."""
    return f"{classifier.loaded.path}:{classifier.loaded.sha256}"


@st.cache_data(max_entries=128, show_spinner=False)  # About 1 MB each for a 450 x 450 image.
def analyze_image(digest: str, model: str, _classifier, _image_rgb: np.ndarray):
    """CellAnalysis of one decoded image, cached on (content digest, model key) only.

    The classifier and the pixels are left out of the cache key (leading underscore):
    `digest` already identifies the pixels and `model` the classifier.
    """
    from core.model.analysis import analyze_cell

    return analyze_cell(_classifier, _image_rgb)


@st.cache_resource
def demo_build_job():
    """The process-wide DemoBuild: its lock keeps two sessions from training at once."""
    from ui.demo_build import DemoBuild

    return DemoBuild()


def session_token() -> str:
    return st.session_state.get(SESSION_TOKEN_KEY, "")

