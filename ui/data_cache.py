"""Cached loaders for the Dataset explorer and the Model card, on top of `ui.resources`.

Per-file results are keyed on the file's path and modification time, so an edited file is
read again; nothing here computes beyond calling into `core`. `core.model` (and with it
TensorFlow) is imported only when a model's sidecar or hash is asked for.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from core import config
from core.reporting import explorer
from core.errors import LeukemiaAppError
from core.imaging.decode import load_image
from core.imaging.preprocess import preprocess_cell
from ui import resources


@st.cache_data(max_entries=512, show_spinner=False)
def thumbnail(path: str, stamp: float) -> tuple[np.ndarray | None, str | None]:
    """(thumbnail (<=128, <=128, 3) uint8 RGB, None), or (None, why the file could not be read)."""
    try:
        return explorer.thumbnail(load_image(path).image_rgb), None
    except LeukemiaAppError as error:
        return None, str(error)


@st.cache_data(max_entries=16, show_spinner="Preprocessing the cell…")
def analyse_sample(path: str, stamp: float, model_key: str | None, _classifier=None) -> dict:
    """Decode one dataset image, run the preprocessing and, with a classifier, the model.

    `model_key` (`ui.resources.model_key`: path and SHA-256) stands in for the unhashable classifier.

    Returns:
        {"image_rgb", "stages", "prediction", "error"}: the decoded image, a PreprocessResult,
        a Prediction (None without a classifier) and a message when any step failed.
    """
    result = {"image_rgb": None, "stages": None, "prediction": None, "error": None}
    try:
        result["image_rgb"] = load_image(path).image_rgb
        if _classifier is None:
            result["stages"] = preprocess_cell(result["image_rgb"], config.IMAGE_SIZE)
        else:
            result["prediction"], result["stages"] = _classifier.classify(result["image_rgb"])
    except LeukemiaAppError as error:
        result["error"] = str(error)
    return result


def sample_analysis(path: Path, with_model: bool) -> dict:
    """`analyse_sample` for one image, with the shared classifier when asked and loadable."""
    classifier = resources.get_classifier() if with_model and resources.model_path().is_file() else None
    model_key = resources.model_key(classifier) if classifier is not None else None
    return analyse_sample(str(path), resources.file_stamp(path), model_key, classifier)


@st.cache_data(max_entries=8, show_spinner=False)
def predictions(csv_path: str, stamp: float) -> tuple[list[dict], str | None]:
    """Rows of a held-out predictions CSV, or ([], why it could not be read)."""
    try:
        return explorer.read_predictions(Path(csv_path)), None
    except (OSError, ValueError) as error:
        return [], f"Could not read {Path(csv_path).name}: {error}"


@st.cache_data(max_entries=4, show_spinner=False)
def sidecar(model_path: str, stamp: float) -> tuple[dict, list[str]]:
    """The model's sidecar metadata and warnings; raises ModelError for unreadable JSON."""
    from core.model.network import read_sidecar

    return read_sidecar(Path(model_path))


def model_sidecar() -> tuple[dict, list[str]]:
    """The sidecar of the model in use, re-read when the JSON file changes."""
    path = resources.model_path()
    return sidecar(str(path), resources.file_stamp(config.sidecar_path(path)))


@st.cache_data(max_entries=4, show_spinner="Checking the model file's SHA-256…")
def file_sha256(path: str, stamp: float) -> str | None:
    """Hex SHA-256 of a file, or None when it does not exist."""
    from core.model.network import file_sha256 as digest

    return digest(Path(path)) if Path(path).is_file() else None


def switch_data_dir(path_text: str) -> str | None:
    """Use another data folder if it indexes; otherwise keep the current one and say why."""
    previous = st.session_state.get(resources.DATA_DIR_KEY, str(resources.data_dir()))
    st.session_state[resources.DATA_DIR_KEY] = str(Path(path_text.strip()).expanduser())
    if resources.get_dataset_index() is not None:
        return None
    error = st.session_state.get(resources.DATASET_ERROR_KEY)
    st.session_state[resources.DATA_DIR_KEY] = previous
    resources.get_dataset_index()
    return error
