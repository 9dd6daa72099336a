"""Compiled class activation maps: Grad-CAM, Grad-CAM++, LayerCAM, Score-CAM and SmoothGrad.

Each map follows tf-keras-vis 0.8.7 (ReLU on the map, upsampling with scipy's
`zoom(order=1)`, which aligns corners, and min-max normalisation) but the model runs in
one `tf.function` with a fixed input signature: on a 2-core CPU, tf-keras-vis called
eagerly is about ten times slower than one compiled forward pass.
`tests/test_explain.py` checks every map against tf-keras-vis on the same tiny model.

Every map scores a class through a two-logit view `[0, z]` of the model (z is the
pre-sigmoid `logit` layer), never through the sigmoid, which saturates:
- gradient methods score the class's log-odds, `z` for "all" and `-z` for "hem";
- Score-CAM scores the softmax of the view, `sigmoid(z)` or `1 - sigmoid(z)`. A softmax
  over the single sigmoid unit would be 1 for every masked input, giving every channel
  the same weight.

References:
    Selvaraju et al. 2017, Grad-CAM (arXiv:1610.02391). Chattopadhyay et al. 2018,
    Grad-CAM++ (arXiv:1710.11063). Jiang et al. 2021, LayerCAM (IEEE TIP 30).
    Wang et al. 2020, Score-CAM (arXiv:1910.01279). Smilkov et al. 2017, SmoothGrad
    (arXiv:1706.03825).
"""
from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf
from scipy.ndimage import zoom

from core.model.network import LOGIT_LAYER

CLASS_LOGITS_LAYER = "class_logits"
EPSILON = 1e-7  # keras.backend.epsilon(), the guard in tf-keras-vis's normalisation.
SCORECAM_CHUNK = 16  # masked inputs per forward pass inside Score-CAM
SMOOTHGRAD_CHUNK = 5  # noisy inputs per backward pass inside SmoothGrad


def check_flat(model: keras.Model) -> None:
    """Raise ValueError unless `model` is flat and has a `logit` layer.

    A model that nests its ResNet50 as one layer hides the conv layers from Grad-CAM
    (tf-keras-vis issue #71).
    """
    nested = [layer.name for layer in model.layers if isinstance(layer, keras.Model)]
    if nested:
        raise ValueError(
            f"The model nests other models as layers ({', '.join(nested)}); explanations need a flat "
            "model whose conv layers are its own. Build it with core.model.build_classifier, "
            "which puts the ResNet50 layers directly in the classifier."
        )
    if LOGIT_LAYER not in {layer.name for layer in model.layers}:
        raise ValueError(
            f"The model has no layer named '{LOGIT_LAYER}' (the pre-sigmoid score that explanations "
            "use). Build it with core.model.build_classifier."
        )


def class_logits_view(model: keras.Model) -> keras.Model:
    """The model seen as two class logits: (N, S, S, 3) scaled images -> (N, 2) `[0, z]`.

    A frozen Dense layer with kernel [[0, 1]] turns the logit z into (hem, all) logits, so
    softmax gives (1 - P(all), P(all)) and differences give the log-odds. The view shares
    every weight with `model`.
    """
    logit = model.get_layer(LOGIT_LAYER).output
    two_logits = keras.layers.Dense(
        2,
        use_bias=False,
        trainable=False,
        kernel_initializer=keras.initializers.Constant([[0.0, 1.0]]),
        name=CLASS_LOGITS_LAYER,
        dtype="float32",
    )(logit)
    return keras.Model(model.input, two_logits, name=f"{model.name}_class_logits")


def _log_odds(logits: tf.Tensor, class_index: tf.Tensor) -> tf.Tensor:
    """(N, 2) class logits -> (N,) log-odds of class `class_index` against the other."""
    return tf.gather(logits, class_index, axis=1) - tf.gather(logits, 1 - class_index, axis=1)


def compile_layer_gradients(view: keras.Model, layer: str) -> Callable:
    """A compiled f(batch (1, S, S, 3), class_index) -> (activations, gradients), each (1, h, w, C).

    Only the head lies between the last conv block and the score, so for the default
    layer this costs about one forward pass.
    """
    size = view.input_shape[1]
    layer_view = keras.Model(view.input, [view.get_layer(layer).output, view.output])
    signature = [tf.TensorSpec((1, size, size, 3), tf.float32), tf.TensorSpec((), tf.int32)]

    @tf.function(input_signature=signature)
    def layer_gradients(batch, class_index):
        with tf.GradientTape() as tape:
            activations, logits = layer_view(batch, training=False)
            score = _log_odds(logits, class_index)
        return activations, tape.gradient(score, activations)

    return layer_gradients


def gradcam(activations: np.ndarray, gradients: np.ndarray) -> np.ndarray:
    """Grad-CAM: channels weighted by their mean gradient. (h, w, C) twice -> (h, w)."""
    weights = gradients.mean(axis=(0, 1))
    return np.maximum((activations * weights).sum(axis=-1), 0.0)


def gradcam_plus_plus(activations: np.ndarray, gradients: np.ndarray) -> np.ndarray:
    """Grad-CAM++ with the closed-form alphas. (h, w, C) twice -> (h, w).

    With score S = exp(s), the 1st/2nd/3rd derivatives are exp(s) g, exp(s) g^2 and
    exp(s) g^3 (tf-keras-vis's formulation). The exp(s) factor cancels in the alphas and only
    scales the final map, which is normalised anyway, so it is left out: it would overflow
    float32 for logits above about 88.
    """
    second, third = gradients**2, gradients**3
    global_sum = activations.sum(axis=(0, 1), keepdims=True)
    denominator = 2.0 * second + third * global_sum
    alphas = second / (denominator + (second == 0.0))
    normaliser = alphas.sum(axis=(0, 1), keepdims=True)
    alphas = alphas / (normaliser + (normaliser == 0.0))
    weights = (np.maximum(gradients, 0.0) * alphas).sum(axis=(0, 1))
    return np.maximum((activations * weights).sum(axis=-1), 0.0)


def layercam(activations: np.ndarray, gradients: np.ndarray) -> np.ndarray:
    """LayerCAM: every position weighted by its own positive gradient. (h, w, C) twice -> (h, w)."""
    return np.maximum((activations * np.maximum(gradients, 0.0)).sum(axis=-1), 0.0)


def _resize_align_corners(maps: tf.Tensor, size: int) -> tf.Tensor:
    """(N, h, w, C) -> (N, size, size, C), bilinear with corners aligned like scipy's zoom(order=1)."""
    return tf.raw_ops.ResizeBilinear(images=maps, size=[size, size], align_corners=True, half_pixel_centers=False)


def compile_scorecam(view: keras.Model, layer: str, max_maps: int) -> Callable:
    """A compiled f(batch (1, S, S, 3), class_index) -> (h, w) Score-CAM map (Faster Score-CAM).

    The `max_maps` channels with the largest spatial spread become masks: each is upsampled,
    scaled to [0, 1] and multiplied with the input; a channel's weight is the class's
    softmax probability for its masked input.
    """
    size = view.input_shape[1]
    layer_model = keras.Model(view.input, view.get_layer(layer).output)
    maps = min(max_maps, int(layer_model.output.shape[-1]))
    signature = [tf.TensorSpec((1, size, size, 3), tf.float32), tf.TensorSpec((), tf.int32)]

    @tf.function(input_signature=signature)
    def scorecam(batch, class_index):
        activations = layer_model(batch, training=False)[0]  # (h, w, C)
        spread = tf.math.reduce_std(activations, axis=(0, 1))
        selected = tf.gather(activations, tf.math.top_k(spread, maps).indices, axis=-1)  # (h, w, maps)
        masks = _resize_align_corners(tf.transpose(selected, (2, 0, 1))[..., None], size)  # (maps, S, S, 1)
        low = tf.reduce_min(masks, axis=(1, 2, 3), keepdims=True)
        high = tf.reduce_max(masks, axis=(1, 2, 3), keepdims=True)
        masked = (masks - low) / (high - low + EPSILON) * batch  # (maps, S, S, 3)
        probabilities = [
            tf.nn.softmax(view(masked[start : start + SCORECAM_CHUNK], training=False))
            for start in range(0, maps, SCORECAM_CHUNK)
        ]
        weights = tf.gather(tf.concat(probabilities, axis=0), class_index, axis=1)  # (maps,)
        return tf.nn.relu(tf.reduce_sum(selected * weights, axis=-1))

    return scorecam


def compile_input_gradients(view: keras.Model) -> Callable:
    """A compiled f(batch (N, S, S, 3), class_index) -> (N, S, S, 3) |d log-odds / d input|."""
    size = view.input_shape[1]
    signature = [tf.TensorSpec((None, size, size, 3), tf.float32), tf.TensorSpec((), tf.int32)]

    @tf.function(input_signature=signature)
    def input_gradients(batch, class_index):
        with tf.GradientTape() as tape:
            tape.watch(batch)
            score = tf.reduce_sum(_log_odds(view(batch, training=False), class_index))
        return tf.abs(tape.gradient(score, batch))

    return input_gradients


def smoothgrad_noise(scaled_input: np.ndarray, samples: int, noise: float, seed: int) -> np.ndarray:
    """(samples, S, S, 3) float32 Gaussian noise with sigma = noise * (max - min) of the input.

    Drawn like tf-keras-vis (one legacy-NumPy normal draw of shape (samples, 1, S, S, 3)),
    but from a generator seeded per call, so a map is reproducible and thread-safe.
    """
    sigma = noise * float(scaled_input.max() - scaled_input.min())
    draws = np.random.RandomState(seed).normal(0.0, sigma, (samples, 1) + scaled_input.shape)
    return draws[:, 0].astype(np.float32)


def to_heatmap(cam: np.ndarray, size: int) -> np.ndarray:
    """(h, w) map -> (size, size) float32 in [0, 1]: upsampled, then min-max normalised.

    A flat map (no evidence anywhere) becomes all zeros, never NaN.
    """
    cam = np.nan_to_num(np.asarray(cam, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    if cam.shape != (size, size):
        cam = zoom(cam, (size / cam.shape[0], size / cam.shape[1]), order=1)
    return normalize(cam)


def normalize(values: np.ndarray) -> np.ndarray:
    """Min-max scale to [0, 1] as tf-keras-vis does; a constant array becomes zeros."""
    low, high = float(values.min()), float(values.max())
    scaled = (values - low) / (high - low + EPSILON)
    return np.clip(scaled, 0.0, 1.0).astype(np.float32)
