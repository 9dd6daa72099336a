"""The Explain page's Streamlit caches: one Explainer per model, heatmaps per (image, method, target, layer).

Heatmaps sit in `ui.cache`'s byte-bounded per-image caches; faithfulness and sanity checks in
`st.cache_data` keyed on the model and the image's content digest. `answer_gradcam` is the one
Grad-CAM overlay of a cell's answer that the Quiz's reveal and the HTML report draw. Nothing here
computes: it only calls into `core.explain`.
"""
from __future__ import annotations

import logging

import numpy as np
import streamlit as st

from core import config
from ui.cache import in_process_classifier, model_key, settle_garbage_collector
from ui.image_cache import upload_caches

LOGGER = logging.getLogger(__name__)
ANSWER_OVERLAY_OPACITY = 0.45  # Weight of the heatmap's colours over the model input in `answer_gradcam`.


@st.cache_resource(max_entries=2, show_spinner="Preparing the explainer…")
def _explainer(model: str, _classifier):
    from core.explain.explainer import Explainer

    explainer = Explainer(_classifier.loaded.model, _classifier.lock, threshold=_classifier.threshold)
    settle_garbage_collector()
    return explainer


def get_explainer(classifier):
    """The Explainer of the shared classifier's model, in this process (`ui.cache.in_process_classifier`, also with an
    inference service); it holds that classifier's lock around model calls."""
    return _explainer(model_key(classifier), in_process_classifier(classifier))


@st.cache_resource(max_entries=1, show_spinner="Re-initialising the top layers of a copy of the model…")
def _randomized_explainer(model: str, _explainer):
    from core.explain.sanity import randomized_explainer

    return randomized_explainer(_explainer)


def get_randomized_explainer(classifier):
    """An Explainer for a copy of the model whose head and last ResNet block are re-initialised."""
    return _randomized_explainer(model_key(classifier), get_explainer(classifier))


def get_heatmap(classifier, digest: str, model_input: np.ndarray, method: str, target: str, layer: str,
                explainer=None) -> np.ndarray:
    """(S, S) float32 heatmap in [0, 1], cached on (model, image digest, method, target, layer) within a byte budget.

    `explainer` computes it on a miss; None for this model's cached Explainer (`get_explainer`).
    """
    explainer = get_explainer(classifier) if explainer is None else explainer
    key = (model_key(classifier), digest, method, target, layer)
    with st.spinner("Computing the heatmap…"):
        return upload_caches()["heatmap"].get_or_compute(key, lambda: explainer.explain(model_input, method, target, layer))


def answer_gradcam(classifier, digest: str, model_input: np.ndarray, target: str,
                   explainer=None) -> tuple[np.ndarray, np.ndarray] | None:
    """Grad-CAM of a cell's answer over its model input, as the Quiz's reveal and the HTML report draw it.

    The heatmap is the Explain page's (same cache key: the last conv layer, `config.LAST_CONV_LAYER`).

    Args:
        digest: SHA-256 of the image's bytes.
        model_input: (S, S, 3) uint8 RGB, the preprocessed crop the model saw.
        target: the class explained, "all" or "hem": the cell's thresholded label.
        explainer: computes the heatmap on a miss; None for this model's cached Explainer.

    Returns:
        ((S, S) float32 heatmap in [0, 1], (S, S, 3) uint8 RGB overlay at ANSWER_OVERLAY_OPACITY), or
        None when explaining fails (logged: the page or report goes on without it).
    """
    from core.explain.heatmaps import overlay

    try:
        heatmap = get_heatmap(classifier, digest, model_input, "gradcam", target, config.LAST_CONV_LAYER, explainer)
        return heatmap, overlay(model_input, heatmap, ANSWER_OVERLAY_OPACITY)
    except Exception:  # The Explain page shows the error; here the heatmap is only a companion of the answer.
        LOGGER.exception("Grad-CAM of the answer for image %s failed", digest[:12])
        return None


@st.cache_data(max_entries=256, show_spinner="Measuring how faithful the heatmap is…")
def _faithfulness(model: str, digest: str, method: str, target: str, layer: str, _explainer, _stages, _heatmap):
    from core.explain.faithfulness import heatmap_faithfulness

    return heatmap_faithfulness(_explainer, _stages, _heatmap, target)


def get_faithfulness(classifier, digest: str, stages, method: str, target: str, layer: str):
    """Deletion and insertion curves of the cached heatmap (a `core.explain.faithfulness.Faithfulness`)."""
    heatmap = get_heatmap(classifier, digest, stages.model_input, method, target, layer)
    return _faithfulness(model_key(classifier), digest, method, target, layer, get_explainer(classifier), stages, heatmap)


@st.cache_data(max_entries=64, show_spinner="Explaining the randomised copy…")
def _sanity(model: str, digest: str, method: str, target: str, layer: str, _trained, _randomized, _model_input) -> float:
    from core.explain.sanity import sanity_check

    return sanity_check(_trained, _model_input, method, target, layer, randomized=_randomized)


def get_sanity_correlation(classifier, digest: str, model_input: np.ndarray, method: str, target: str, layer: str) -> float:
    """Spearman correlation of the trained and randomised models' heatmaps (NaN when either is flat)."""
    trained, randomized = get_explainer(classifier), get_randomized_explainer(classifier)
    return _sanity(model_key(classifier), digest, method, target, layer, trained, randomized, model_input)
