"""The Streamlit caches of what is read from files, shared by every page: the model, the dataset, the card.

The model and its explainer are built once per process (`st.cache_resource`, keyed on the
model path, its modification time and the SHA-256 of its sidecar, so a retrained file or a card
rewritten by `core.cli.calibrate` or `core.cli.subjects` is picked up without a restart); per-file
results (thumbnails, prediction CSVs, the sidecar, the split) by path and modification time.
`model_key` and `content_digest` key the per-image caches, which live in `ui.image_cache` with the
turns new images take; the Explain page's explainers, heatmaps, faithfulness and sanity checks are in
`ui.explain_cache`, and the Quiz and Patient pages' in `ui.cohort_cache`.
Nothing here computes: it only calls into `core`. TensorFlow is imported only when a model is asked for.
"""
from __future__ import annotations

import gc
import hashlib
from pathlib import Path

import numpy as np
import streamlit as st

from core import config
from core.data.index_stamp import index_stamp
from core.errors import LeukemiaAppError
from core.imaging.decode import load_image
from core.reporting import explorer
from ui import state


def file_stamp(path: Path) -> float:
    """Modification time, or 0 when missing: part of every cache key that depends on a file."""
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def content_digest(data: bytes) -> str:
    """SHA-256 of uploaded bytes: the key of every per-image cache."""
    return hashlib.sha256(data).hexdigest()


def model_stamp(path: Path) -> tuple[float, str]:
    """The model's modification time and its sidecar's SHA-256: a rewritten sidecar reloads the model too.

    The sidecar is hashed, not stamped: a rewrite within the file system's time resolution (or one
    that keeps the time) changes the threshold, calibration and index all the same. It is a few tens
    of KB, hashed in well under a millisecond.
    """
    from core.model.store import sidecar_sha256

    return file_stamp(path), sidecar_sha256(path)


def sidecar_stamp(path: Path) -> str:
    """The SHA-256 of the sidecar beside a model ("" without one): the key of every cache made from the sidecar."""
    from core.model.store import sidecar_sha256

    return sidecar_sha256(path)


@st.cache_resource(show_spinner="Loading the model…", max_entries=2)
def _classifier(path: str, stamp: tuple[float, str]):
    from core.model.inference import Classifier
    from core.model.store import load_classifier

    classifier = Classifier(load_classifier(path))
    classifier.warm_up()
    settle_garbage_collector()
    return classifier


def settle_garbage_collector() -> None:
    """Exempt what is loaded now (TensorFlow, the model: hundreds of thousands of objects) from later full collections.

    After every script and fragment run Streamlit calls `gc.collect(2)` and Keras' `clear_session()`,
    which collects again: with TensorFlow loaded that took 0.6 s each on a loaded 2-core machine,
    on every click and slider move. Frozen objects are skipped (`gc.freeze`), so both take
    milliseconds. The freeze is undone first (`gc.unfreeze`) and everything collected, so a model
    that a later load or `clear_model_caches` dropped is freed then, not kept for the server's life.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()


@st.cache_resource(show_spinner="Connecting to the inference service…", max_entries=2)
def _remote_classifier(url: str, path: str, stamp: tuple[float, str]):
    from core.model.remote import RemoteClassifier

    return RemoteClassifier.connect(url, path)


def get_classifier():
    """The shared classifier, or None with `st.session_state['model_error']` explaining why.

    With `LEUKEMIA_INFERENCE_URL` set, a `core.model.remote.RemoteClassifier`: the model's passes run in
    the inference service (`python -m core.serve`), every answer still here; otherwise the model runs in
    this process (`core.model.inference.Classifier`). A service that does not answer is not cached: the
    next run asks it again.
    """
    path, url = state.model_path(), config.inference_url()
    try:
        classifier = _remote_classifier(url, str(path), model_stamp(path)) if url else _classifier(str(path), model_stamp(path))
    except LeukemiaAppError as error:
        st.session_state[state.MODEL_ERROR_KEY] = str(error)
        return None
    st.session_state[state.MODEL_ERROR_KEY] = None
    return classifier


@st.cache_resource(show_spinner="Indexing the dataset…", max_entries=4)
def _dataset_index(path: str, stamp: tuple):
    from core.data.index import index_dataset

    return index_dataset(path)


def get_dataset_index():
    """The DatasetIndex of the folder in use, or None with `st.session_state['dataset_error']` set."""
    path = state.data_dir()
    try:
        index = _dataset_index(str(path), index_stamp(path))  # every listed folder's time: a cell added deep inside counts
    except LeukemiaAppError as error:
        st.session_state[state.DATASET_ERROR_KEY] = str(error)
        return None
    st.session_state[state.DATASET_ERROR_KEY] = None
    return index


def in_process_classifier(classifier):
    """The Classifier whose Keras model runs in this process: `classifier`, or for a remote one the same file loaded here.

    Explain's heatmaps and checks need the model's gradients, which the inference service does not
    send; the file is the one the service runs (`RemoteClassifier.connect` checked its SHA-256).
    """
    if classifier.loaded.model is not None:
        return classifier
    path = classifier.loaded.path
    return _classifier(str(path), model_stamp(path))


def clear_model_caches() -> None:
    """Forget the loaded model (every session) so the next `get_classifier` reads the file again, and free it."""
    _classifier.clear()
    _remote_classifier.clear()
    settle_garbage_collector()


def model_key(classifier) -> str:
    """Identifies the model in per-image cache keys: its path, the SHA-256 of its file and of its sidecar."""
    return f"{classifier.loaded.path}:{classifier.loaded.sha256}:{classifier.loaded.sidecar_sha256}"


@st.cache_resource
def demo_build_job():
    """The process-wide DemoBuild: its lock keeps two sessions from training at once."""
    from ui.demo_build import DemoBuild

    return DemoBuild()


# The Dataset explorer and the Model card: thumbnails, samples, prediction CSVs, the sidecar.


@st.cache_data(max_entries=512, show_spinner=False)  # At most 48 KB each: 25 MB in all.
def thumbnail(path: str, stamp: float) -> tuple[np.ndarray | None, str | None]:
    """(thumbnail (<=128, <=128, 3) uint8 RGB, None), or (None, why the file could not be read)."""
    try:
        return explorer.thumbnail(load_image(path).image_rgb), None
    except LeukemiaAppError as error:
        return None, str(error)


@st.cache_data(max_entries=8, show_spinner=False)
def predictions(csv_path: str, stamp: float) -> tuple[list[dict], str | None]:
    """Rows of a held-out predictions CSV, or ([], why it could not be read)."""
    try:
        return explorer.read_predictions(Path(csv_path)), None
    except (OSError, ValueError) as error:
        return [], f"Could not read {Path(csv_path).name}: {error}"


@st.cache_data(max_entries=4, show_spinner=False)
def sidecar(model_path: str, stamp: str) -> tuple[dict, list[str]]:
    """The model's sidecar metadata and warnings; raises ModelError for unreadable JSON."""
    from core.model.store import read_sidecar

    return read_sidecar(Path(model_path))


def model_sidecar() -> tuple[dict, list[str]]:
    """The sidecar of the model in use, re-read when the JSON file's content changes."""
    path = state.model_path()
    return sidecar(str(path), sidecar_stamp(path))


@st.cache_data(max_entries=8, show_spinner=False)
def _threshold_curves(model_path: str, stamp: str, set_name: str, model_threshold: float):
    from core.reporting.operating_points import threshold_curves as curves

    metadata, _ = sidecar(model_path, stamp)
    return curves((metadata.get("evaluation") or {}).get(set_name) or {}, model_threshold)


def threshold_curves(set_name: str, model_threshold: float):
    """The model card slider's precomputed ThresholdCurves for one evaluated set (None without a ROC curve);
    computed once per sidecar file and set."""
    path = state.model_path()
    return _threshold_curves(str(path), sidecar_stamp(path), set_name, model_threshold)


@st.cache_data(max_entries=4, show_spinner="Checking the model file's SHA-256…")
def file_sha256(path: str, stamp: float) -> str | None:
    """Hex SHA-256 of a file, or None when it does not exist."""
    from core.model.store import file_sha256 as digest

    return digest(Path(path)) if Path(path).is_file() else None


@st.cache_data(max_entries=4, show_spinner=False)
def _split_sides(model_path: str, stamp: float, synthetic: bool):
    from core.data.sides import SplitSides

    return SplitSides.load(model_path, synthetic)


def get_split_sides(classifier):
    """The split CSV beside the classifier's model (`core.data.sides.SplitSides`), or None; re-read when it changes."""
    from core.data.sides import split_csv_path

    return _split_sides(str(classifier.loaded.path), file_stamp(split_csv_path(classifier.loaded.path)),
                        bool(classifier.loaded.metadata.get("is_demo")))
