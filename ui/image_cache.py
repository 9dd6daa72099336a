"""Per-image results for every session: decoded uploads, analyses, reports and samples, and the turns new images take.

Each cache is process-wide and bounded by bytes (`core.config`'s budgets, `ui.byte_cache`), keyed by the
image's content hash and the model key of `ui.cache` (its file's and its sidecar's SHA-256), so a session
that uploads a cell another session analysed gets the answer without a second pass. New images wait for a
turn among all sessions (`config.IMAGES_AT_ONCE` at a time) before anything is decoded, so a waiting
session holds only its upload's bytes. Nothing here computes: it calls into `core`.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, nullcontext

import numpy as np
import streamlit as st

from core import config
from core.errors import ImageLoadError, LeukemiaAppError
from core.imaging.decode import load_image
from core.imaging.gate import TurnGate, TurnTimeout
from core.imaging.image_cells import REINHARD
from core.imaging.preprocess import preprocess_cell
from ui import server_memory
from ui.byte_cache import ByteBudgetCache
from ui.cache import content_digest, model_key


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


def is_new(digest: str, name: str, classifier, analysis_digest: str | None = None) -> bool:
    """Whether the image of this SHA-256 still has to be decoded or analysed for this model (not both in the caches).

    `analysis_digest`: the key its analysis goes by when it is not `digest` (`stained_digest`).
    """
    return (upload_caches()["decoded"].get((digest, name)) is None
            or upload_caches()["analysis"].get((analysis_digest or digest, model_key(classifier))) is None)


def decode_and_analyze(data: bytes, digest: str, name: str, classifier, normaliser=None):
    """(DecodedImage, the cell's (H, W, 3) uint8 RGB, CellAnalysis) of uploaded bytes of SHA-256 `digest`, from the caches or in a turn.

    With `normaliser` (a `core.imaging.stain.ReinhardNormaliser`) the cell is moved to its stain before the
    analysis, which is cached under `stained_digest(digest)`; the RGB returned is then the moved cell.

    Raises:
        LeukemiaAppError: the file cannot be decoded or preprocessed, or its turn did not come.
    """
    key = digest if normaliser is None else stained_digest(digest)
    with image_turn(f"'{name}'") if is_new(digest, name, classifier, key) else nullcontext():
        decoded = decode_upload(data, name)
        image_rgb = decoded.image_rgb if normaliser is None else normaliser.transform(decoded.image_rgb)
        return decoded, image_rgb, _analysis(key, model_key(classifier), classifier, image_rgb)


def stained_digest(digest: str) -> str:
    """The key of an image moved to the model's training stain, beside its content's SHA-256 (`digest`)."""
    return f"{digest}:{REINHARD}"


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
