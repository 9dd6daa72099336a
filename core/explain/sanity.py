"""The model-randomisation sanity check for explanations (Adebayo et al. 2018, arXiv:1810.03292).

An explanation that reflects what the model learned must change when the learned weights
are destroyed. Cascading randomisation re-initialises the top layers (here the head and
the last ResNet block) and compares the heatmaps before and after: a high rank correlation
means the map depends on the image or the architecture more than on the training.
"""
from __future__ import annotations

import keras
import numpy as np
from scipy.stats import spearmanr

from core import config
from core.explain.explainer import Explainer

# The head (logit, head_dense) and the three convolutions and batch norms of conv5_block3.
DEFAULT_RANDOMIZED_LAYERS = 8


def top_weighted_layers(model: keras.Model, n_layers: int) -> list[str]:
    """Names of the last `n_layers` layers that hold weights, from the output backwards."""
    weighted = [layer.name for layer in model.layers if layer.weights]
    if not 1 <= n_layers <= len(weighted):
        raise ValueError(f"n_layers must be between 1 and {len(weighted)} for this model; got {n_layers}.")
    return weighted[::-1][:n_layers]


def _seeded(initializer: keras.initializers.Initializer, seed: int) -> keras.initializers.Initializer:
    """A copy of `initializer` with a fixed seed, so a randomised copy is reproducible."""
    config = initializer.get_config()
    if "seed" in config:
        config["seed"] = seed
    return type(initializer).from_config(config)


def randomized_top_copy(
    model: keras.Model, n_layers: int = DEFAULT_RANDOMIZED_LAYERS, seed: int = 0
) -> keras.Model:
    """A copy of `model` whose top `n_layers` weighted layers are re-initialised.

    Every variable of those layers (kernel, bias, BatchNorm gamma/beta/statistics) is
    drawn again from the layer's own initializer, i.e. set back to how it was before
    training. `model` itself is not changed.

    Args:
        model: a flat classifier from `core.model.network.build_classifier`.
        n_layers: how many weighted layers, counted from the output, to randomise; the
            default covers the head and the last ResNet block (conv5_block3).
        seed: seed of the new weights.

    Returns:
        A new keras.Model with the same layer names.
    """
    names = top_weighted_layers(model, n_layers)
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    for offset, name in enumerate(names):
        layer = copy.get_layer(name)
        for variable in layer.weights:
            initializer = getattr(layer, f"{variable.name}_initializer", None)
            if initializer is not None:
                new_values = _seeded(initializer, seed + offset)(variable.shape, dtype=variable.dtype)
                variable.assign(new_values)
    return copy


def rank_correlation(first: np.ndarray, second: np.ndarray) -> float:
    """Spearman rank correlation of two heatmaps of the same shape, in [-1, 1].

    NaN when either map is constant (for example all zeros): a flat map has no ranking.
    """
    first, second = np.asarray(first).ravel(), np.asarray(second).ravel()
    if first.shape != second.shape:
        raise ValueError(f"Heatmaps must have the same shape; got {first.shape} and {second.shape}.")
    if np.ptp(first) == 0 or np.ptp(second) == 0:
        return float("nan")
    return float(spearmanr(first, second).statistic)


def randomized_explainer(explainer: Explainer, n_layers: int = DEFAULT_RANDOMIZED_LAYERS, seed: int = 0) -> Explainer:
    """An Explainer with the same settings for a copy of its model whose top layers are re-initialised.

    The copy has its own lock: it is private to the sanity check. Cloning takes seconds, so
    build it once and pass it to `sanity_check` as `randomized`.
    """
    with explainer.lock:  # The weights are read while no other session runs the model.
        copy = randomized_top_copy(explainer.model, n_layers, seed)
    return type(explainer)(copy, scorecam_maps=explainer.scorecam_maps, smooth_samples=explainer.smooth_samples,
                           smooth_noise=explainer.smooth_noise, seed=explainer.seed)


def sanity_check(explainer: Explainer, model_input_rgb: np.ndarray, method: str = "gradcam", target: str = "all",
                 layer: str = config.LAST_CONV_LAYER, randomized: Explainer | None = None) -> float:
    """Spearman correlation between the heatmaps of the trained model and of its randomised copy.

    Args:
        explainer: the trained model's Explainer.
        model_input_rgb: (S, S, 3) uint8 RGB model input.
        method, target, layer: as in `Explainer.explain`.
        randomized: from `randomized_explainer(explainer)`; built here (seconds) when None.

    Returns:
        In [-1, 1]. Near 1: the map barely depends on the learned top layers (a warning
        sign). Near 0 or below: it does. NaN when either map is flat.
    """
    randomized = randomized if randomized is not None else randomized_explainer(explainer)
    trained_map = explainer.explain(model_input_rgb, method, target, layer)
    random_map = randomized.explain(model_input_rgb, method, target, layer)
    return rank_correlation(trained_map, random_map)
