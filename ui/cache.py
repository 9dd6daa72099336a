"""The one module that wraps core loaders in Streamlit caches, shared by every page.

The model and its explainer are built once per process (`st.cache_resource`, keyed on the
model path, its modification time and the SHA-256 of its sidecar, so a retrained file or a card
rewritten by `core.cli.calibrate` or `core.cli.subjects` is picked up without a restart);
per-image results are cached by the image's content hash and the model key (which holds the
sidecar's SHA-256 too), per-file results by path and modification time.
Nothing here computes: it only calls into `core`. TensorFlow is imported only when a model
is asked for. The Explain page's explainers, heatmaps, faithfulness and sanity checks are in
`ui.explain_cache`, and the Quiz and Patient pages' in `ui.cohort_cache`, both built on this
module's model key and caches.
"""
from __future__ import annotations

import gc
import hashlib
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, nullcontext
from pathlib import Path

import numpy as np
import streamlit as st

from core import config
from core.data.index_stamp import index_stamp
from core.errors import ImageLoadError, LeukemiaAppError
from core.imaging.decode import load_image
from core.imaging.gate import TurnGate, TurnTimeout
from core.imaging.preprocess import preprocess_cell
from core.reporting import explorer
from ui import server_memory, state
from ui.byte_cache import ByteBudgetCache


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


def get_classifier():
    """The shared Classifier, or None with `st.session_state['model_error']` explaining why."""
    path = state.model_path()
    try:
        classifier = _classifier(str(path), model_stamp(path))
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


@st.cache_resource
def upload_caches() -> dict[str, ByteBudgetCache]:
    """The process-wide caches of per-image results, each bounded by bytes (`core.config`), shared by every session.

    Made before the first image is decoded, which is when the allocator is told to hand large buffers back
    (`ui.server_memory.return_large_buffers`): without it, buffers freed in one session's thread stayed resident.
    """
    server_memory.return_large_buffers()
    return {"decoded": ByteBudgetCache(config.DECODED_CACHE_BYTES), "analysis": ByteBudgetCache(config.ANALYSIS_CACHE_BYTES),
            "heatmap": ByteBudgetCache(config.HEATMAP_CACHE_BYTES), "report": ByteBudgetCache(config.REPORT_CACHE_BYTES),
            "samples": ByteBudgetCache(config.SAMPLE_CACHE_BYTES)}


def decode_upload(data: bytes, name: str):
    """Bytes -> DecodedImage (cached by content and name, within a byte budget); raises ImageLoadError for bad files.

    The image is already downscaled to `config.MAX_DECODED_SIDE` by the decoder.
    """
    return upload_caches()["decoded"].get_or_compute((content_digest(data), name), lambda: load_image(data, name=name))


def clear_model_caches() -> None:
    """Forget the loaded model (every session) so the next `get_classifier` reads the file again, and free it."""
    _classifier.clear()
    settle_garbage_collector()


def model_key(classifier) -> str:
    """Identifies the model in per-image cache keys: its path, the SHA-256 of its file and of its sidecar."""
    return f"{classifier.loaded.path}:{classifier.loaded.sha256}:{classifier.loaded.sidecar_sha256}"


@st.cache_resource
def _image_turns() -> TurnGate:
    """The process-wide turns of new images (one per server, shared by every session)."""
    return TurnGate(config.IMAGES_AT_ONCE)


_TURN = threading.local()  # .held: this thread holds a turn; .scope: the page run's ExitStack that keeps it.


@contextmanager
def image_turn(what: str) -> Iterator[None]:
    """Wait for a turn among every session's new images (`config.IMAGES_AT_ONCE` at a time), and hold it for the block.

    The model answers one image at a time, so sessions queued for it each held their decoded image, its stages,
    its batch and the report's masked copies (30 sessions at once: about 900 MB). Waiting here, before decoding,
    they hold only their upload's bytes. A turn taken inside a turn of the same thread is that turn; one taken
    inside `turns_for_this_run` is kept until that block ends.

    Raises:
        ImageLoadError: the turn did not come within `config.DECODE_WAIT_S`; `what` names the images in the message.
    """
    scope = getattr(_TURN, "scope", None)
    if not getattr(_TURN, "held", False) and scope is not None:
        scope.enter_context(_held_turn(what))
    with nullcontext() if getattr(_TURN, "held", False) else _held_turn(what):
        yield


@contextmanager
def turns_for_this_run() -> Iterator[None]:
    """Keep the first image turn this block takes until it ends: a page's new answers, then its report, in one turn.

    Taken in two turns, every session's reports queued behind every session's answers, with 30 sessions' answers
    held meanwhile. A run whose images are all in the caches takes no turn and waits for none.
    """
    _TURN.scope = ExitStack()
    try:
        with _TURN.scope:
            yield
    finally:
        _TURN.scope = None


@contextmanager
def _held_turn(what: str) -> Iterator[None]:
    try:
        with _image_turns().holding(1, config.DECODE_WAIT_S):
            _TURN.held = True
            try:
                yield
            finally:
                _TURN.held = False
                server_memory.hand_back_free_memory()  # The image's buffers are freed now: give their pages back.
    except TurnTimeout as error:
        raise ImageLoadError(f"The server is busy with other sessions' images, and {what} waited "
                             f"{config.DECODE_WAIT_S:.0f} s for a turn. Try again in a minute.") from error


def is_new(digest: str, name: str, classifier) -> bool:
    """Whether the image of this SHA-256 still has to be decoded or analysed for this model (not both in the caches)."""
    return (upload_caches()["decoded"].get((digest, name)) is None
            or upload_caches()["analysis"].get((digest, model_key(classifier))) is None)


def decode_and_analyze(data: bytes, digest: str, name: str, classifier):
    """(DecodedImage, CellAnalysis) of uploaded bytes of SHA-256 `digest`, from the caches or in a turn (`image_turn`).

    Raises:
        LeukemiaAppError: the file cannot be decoded or preprocessed, or its turn did not come.
    """
    with image_turn(f"'{name}'") if is_new(digest, name, classifier) else nullcontext():
        decoded = decode_upload(data, name)
        return decoded, _analysis(digest, model_key(classifier), classifier, decoded.image_rgb)


def analyze_image(digest: str, model: str, classifier, image_rgb: np.ndarray):
    """CellAnalysis of one decoded image, cached on (content digest, model key) within a byte budget; a miss waits its turn.

    `digest` identifies the pixels and `model` the classifier, so neither array nor model is hashed.
    """
    analysis = upload_caches()["analysis"].get((digest, model))
    if analysis is None:
        with image_turn("the image"):
            analysis = _analysis(digest, model, classifier, image_rgb)
    return analysis


def _analysis(digest: str, model: str, classifier, image_rgb: np.ndarray):
    from core.model.analysis import analyze_cell

    return upload_caches()["analysis"].get_or_compute((digest, model), lambda: analyze_cell(classifier, image_rgb))


def report_html(key: tuple, make) -> bytes:
    """The HTML report's UTF-8 bytes, made once per `key` (model, image, answer's inputs) within a byte budget.

    The download button gets bytes, not a callable: Streamlit forgets a deferred download's callable
    when a later run replaces the button, so a click just after the selection changed found nothing
    ("MediaFileStorageError: Deferred file ... not found"). A static download survives one cleanup.
    """
    report = upload_caches()["report"].get(key)
    if report is None:
        with st.spinner("Writing the report…"), image_turn("the report"):
            report = upload_caches()["report"].get_or_compute(key, lambda: make().encode("utf-8"))
    return report


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


def sample_stages(path: str, stamp: float) -> tuple[np.ndarray | None, object | None, str | None]:
    """(decoded (H, W, 3) uint8 RGB, PreprocessResult, None) for a dataset file, or (None, None, why not); byte-bounded.

    For showing the preprocessing when no model is loaded; with a model, the dataset explorer
    analyses a file exactly as Classify does (`ui.classify_widgets.process_upload`).
    """
    def stages() -> tuple[np.ndarray | None, object | None, str | None]:
        try:
            image_rgb = load_image(path).image_rgb
            return image_rgb, preprocess_cell(image_rgb, config.IMAGE_SIZE), None
        except LeukemiaAppError as error:
            return None, None, str(error)

    with st.spinner("Preprocessing the cell…"):
        return upload_caches()["samples"].get_or_compute((path, stamp), stages)


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
