"""The Explain page's caches: one Explainer per model, heatmaps per (image, method, target, layer).

Objects are built once per process with `st.cache_resource` and keyed on the model (its
path and SHA-256, `resources.model_key`); heatmaps and sanity checks are cached with
`st.cache_data` on the image's content digest. Nothing here computes: it calls `core.explain`.
"""
from __future__ import annotations

import numpy as np
import streamlit as st

from ui import resources


@st.cache_resource(max_entries=2, show_spinner="Preparing the explainer…")
def _explainer(model: str, _classifier):
    from core.explain.explainer import Explainer

    return Explainer(_classifier.loaded.model, _classifier.lock)


def get_explainer(classifier):
    """The Explainer of the shared classifier's model; it holds the classifier's lock around model calls."""
    return _explainer(resources.model_key(classifier), classifier)


@st.cache_resource(max_entries=1, show_spinner="Re-initialising the top layers of a copy of the model…")
def _randomized_explainer(model: str, _explainer):
    from core.explain.sanity import randomized_explainer

    return randomized_explainer(_explainer)


def get_randomized_explainer(classifier):
    """An Explainer for a copy of the model whose head and last ResNet block are re-initialised."""
    return _randomized_explainer(resources.model_key(classifier), get_explainer(classifier))


@st.cache_data(max_entries=256, show_spinner="Computing the heatmap…")
def heatmap(model: str, digest: str, method: str, target: str, layer: str, _explainer, _model_input: np.ndarray) -> np.ndarray:
    """(S, S) float32 heatmap in [0, 1], cached on (model, image digest, method, target, layer)."""
    return _explainer.explain(_model_input, method, target, layer)


def get_heatmap(classifier, digest: str, model_input: np.ndarray, method: str, target: str, layer: str) -> np.ndarray:
    return heatmap(resources.model_key(classifier), digest, method, target, layer, get_explainer(classifier), model_input)


@st.cache_data(max_entries=64, show_spinner="Explaining the randomised copy…")
def _sanity(model: str, digest: str, method: str, target: str, layer: str, _trained, _randomized, _model_input) -> float:
    from core.explain.sanity import sanity_check

    return sanity_check(_trained, _model_input, method, target, layer, randomized=_randomized)


def get_sanity_correlation(classifier, digest: str, model_input: np.ndarray, method: str, target: str, layer: str) -> float:
    """Spearman correlation of the trained and randomised models' heatmaps (NaN when either is flat)."""
    trained, randomized = get_explainer(classifier), get_randomized_explainer(classifier)
    return _sanity(resources.model_key(classifier), digest, method, target, layer, trained, randomized, model_input)
