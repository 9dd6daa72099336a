"""The Explain page's widgets: choosing the image and the method, drawing heatmaps, the comparison and the sanity check."""
from __future__ import annotations

import math
from pathlib import Path
from typing import NamedTuple

import numpy as np
import streamlit as st

from core import config
from core.data.labels import DISPLAY_NAMES
from core.errors import LeukemiaAppError
from core.explain.explainer import LAYERS, METHOD_NAMES, METHODS
from core.explain.heatmaps import heatmap_on_original, overlay
from core.imaging.encode import png_bytes
from ui import cache, explain_cache, image_cache, state
from ui.classify_widgets import UPLOAD_TYPES, sample_option, sample_records
from ui.messages import show_error, show_info

TARGET_NAMES = DISPLAY_NAMES
MAIN_WIDTH = 380  # on-screen pixels
MIN_COMPARE_COLUMNS = 4  # the comparison's columns; each image fills its column, and columns stack on a phone
LAST_IMAGE, UPLOAD, SAMPLE = "The image last classified", "Upload an image", "A sample cell"
FAITHFULNESS_HELP = ("Faithfulness = insertion area minus deletion area, from -1 to 1: higher means the hottest pixels "
                     "really are the ones the answer depends on. Pick a method by this, not by how plausible it looks.")


def caveat(method: str) -> str:
    """The caption under a heatmap, naming the method shown."""
    return ("Red marks the pixels that raised the score for the chosen class most; blue, the least (and, on the original, "
            f"everything outside the crop the model saw). {METHOD_NAMES[method]} shows where the model looked, not "
            "whether the answer is right: it is not a validation of the answer.")


class Options(NamedTuple):
    """What the user chose to see: method, target class, layer and overlay opacity."""

    method: str
    target: str
    layer: str
    opacity: float


def choose_image_ui(classifier) -> tuple[str, str, np.ndarray, str | None, object | None] | None:
    """The image to explain as (name, content digest, (H, W, 3) uint8 RGB, sample side or None, analysis or None), or None.

    The analysis is Classify's, for a cell found in a smear field with this model (`ui.state.LastImage`);
    None: analyse the image.
    """
    last = state.last_image()
    if last is not None and last.image_rgb is None:
        show_info(f"The image last classified, {last.name}, was let go to keep the server's memory within bounds for "
                  "all sessions. Classify it again, or upload it here.", icon=":material/info:")
    offered = last is not None and last.image_rgb is not None
    source = st.radio("Image", ([LAST_IMAGE] if offered else []) + [UPLOAD, SAMPLE], horizontal=True, key="explain_source")
    if source == LAST_IMAGE:
        measured = last.analysis if last.model == cache.model_key(classifier) else None
        return last.name, last.digest, last.image_rgb, last.side, measured
    if source == UPLOAD:
        upload = st.file_uploader("Upload a cell image (BMP, PNG, JPEG or TIFF)", type=UPLOAD_TYPES, key="explain_upload")
        decoded = None if upload is None else decode_ui(upload.name, upload.getvalue())
        return None if decoded is None else (*decoded, None, None)
    index = cache.get_dataset_index()
    if index is None:
        st.caption(f"No dataset samples to offer: {state.dataset_error()}")
    samples = {sample_option(sample): sample for sample in sample_records(index, cache.get_split_sides(classifier))}
    choice = st.selectbox("Sample cell (held-out subjects first)", list(samples), index=None, key="explain_sample",
                          placeholder="Choose a sample cell")
    if choice is None:
        return None
    path = Path(samples[choice].path)
    try:
        decoded = decode_ui(path.name, path.read_bytes())
    except OSError as error:
        show_error(f"Could not read the sample {path.name}: {error.strerror}.")
        return None
    return None if decoded is None else (*decoded, samples[choice].side, None)


def decode_ui(name: str, data: bytes) -> tuple[str, str, np.ndarray] | None:
    """Decode uploaded or sample bytes; a bad file shows its reason and gives None."""
    try:
        return name, cache.content_digest(data), image_cache.decode_upload(data, name).image_rgb
    except LeukemiaAppError as error:
        show_error(error, icon=":material/error:")
        return None


def options_ui(answer: str) -> Options:
    """Method, target class (the model's answer by default), layer and opacity."""
    method_column, target_column, layer_column = st.columns(3)
    method = method_column.selectbox("Method", METHODS, format_func=METHOD_NAMES.get, key="explain_method")
    target = target_column.radio("Evidence for", list(TARGET_NAMES), index=list(TARGET_NAMES).index(answer),
                                 format_func=TARGET_NAMES.get, horizontal=True, key="explain_target")
    layer = layer_column.selectbox("Layer", list(LAYERS), index=list(LAYERS).index(config.LAST_CONV_LAYER),
                                   format_func=LAYERS.get, key="explain_layer", disabled=method == "smoothgrad",
                                   help="Later stages see larger parts of the cell, more coarsely. SmoothGrad works on pixels.")
    return Options(method, target, layer, st.slider("Heatmap opacity", 0.0, 1.0, 0.45, 0.05, key="explain_opacity"))


def render_heatmaps(name: str, image_rgb: np.ndarray, stages, heatmap: np.ndarray, options: Options, faithfulness) -> None:
    """The heatmap over the model input and mapped back onto the original image, its faithfulness, and a download."""
    on_input = overlay(stages.model_input, heatmap, options.opacity)
    on_original = overlay(image_rgb, heatmap_on_original(heatmap, stages.crop_box, image_rgb.shape), options.opacity)
    label = f"{METHOD_NAMES[options.method]} for {TARGET_NAMES[options.target]}"
    left, right = st.columns(2)
    left.image(on_input, caption=f"{label}, on the model input", width=MAIN_WIDTH)
    right.image(on_original, caption=f"{label}, on the original image", width=MAIN_WIDTH)
    st.caption(caveat(options.method))
    render_faithfulness(faithfulness, options.layer, options.method)
    st.download_button("Download the overlay (PNG)", png_bytes(on_input), file_name=f"{Path(name).stem}.{options.method}.png",
                       mime="image/png", icon=":material/download:", on_click="ignore")


COARSE_MAP_NOTE = ("Why: the last stage's map has only one cell per 32 input pixels (3x3 on a 96 px input, 7x7 on "
                   "224 px). It is stretched to the image with its outer cells pinned to the image's edges and corners "
                   "(as tf-keras-vis does), so a hot outer cell, whose receptive field holds the cell's rim, paints the "
                   "background corner. Stage 4 or 3 localises more finely.")


def render_faithfulness(faithfulness, layer: str = "", method: str = "") -> None:
    """A heatmap's deletion and insertion curves in plain words, and a warning when it points off the cell."""
    warning = faithfulness.outside_warning()
    if warning:
        coarse = layer == config.LAST_CONV_LAYER and method != "smoothgrad"
        st.warning(warning + (f" {COARSE_MAP_NOTE}" if coarse else ""), icon=":material/crop_free:")
    st.caption(f"**Faithfulness {faithfulness.score:+.2f}.** {faithfulness.sentence()}", help=FAITHFULNESS_HELP)


def render_comparison(classifier, digest: str, stages, options: Options) -> None:
    """Several methods side by side for the same image, target and layer, each with its faithfulness."""
    methods = st.multiselect("Compare methods", METHODS, default=["gradcam", "layercam"],
                             format_func=METHOD_NAMES.get, key="explain_compare")
    if options.layer == config.LAST_CONV_LAYER and {"gradcam++", "layercam"} <= set(methods):
        st.caption("On the last block Grad-CAM++ and LayerCAM coincide: global average pooling gives "
                   "every position the same gradient.")
    if methods:
        st.caption(FAITHFULNESS_HELP)
    model_input = stages.model_input
    for column, method in zip(st.columns(max(MIN_COMPARE_COLUMNS, len(methods)), gap="small"), methods):
        heatmap = explain_cache.get_heatmap(classifier, digest, model_input, method, options.target, options.layer)
        faithfulness = explain_cache.get_faithfulness(classifier, digest, stages, method, options.target, options.layer)
        column.image(overlay(model_input, heatmap, options.opacity), width="stretch",
                     caption=f"{METHOD_NAMES[method]}: faithfulness {faithfulness.score:+.2f}")
        notes = (" · mostly outside the cell" if faithfulness.outside_warning() else "") + (
            " · flat curves: no ranking" if faithfulness.flat else "")
        column.caption(f"deletion {faithfulness.deletion_area:.2f} · insertion {faithfulness.insertion_area:.2f}{notes}")


def render_sanity_check(classifier, digest: str, model_input: np.ndarray, options: Options) -> None:
    """Adebayo et al.'s model-randomisation test for the chosen heatmap, on demand."""
    with st.expander("Sanity check: does this heatmap depend on what the model learned?"):
        if not st.toggle("Run it (re-initialises the head and last ResNet block of a copy of the model)", key="explain_sanity"):
            return
        rho = explain_cache.get_sanity_correlation(classifier, digest, model_input, options.method, options.target, options.layer)
        st.metric("Rank correlation, trained vs randomised model", "n/a (a flat heatmap)" if math.isnan(rho) else f"{rho:.2f}")
        st.caption("Near 1, the heatmap barely changes when the learned top layers are replaced by random ones, so it "
                   "reflects the image more than the training; near 0 or below, it depends on what the model learned.")
