"""The model seen as two class logits, and the compiled gradient passes every map is built from.

Every map scores a class through a two-logit view `[0, z]` of the model (z is the
pre-sigmoid `logit` layer), never through the sigmoid, which saturates:
- gradient methods score the class's log-odds, `z` for "all" and `-z` for "hem";
- Score-CAM scores the softmax of the view, `sigmoid(z)` or `1 - sigmoid(z)`. A softmax
  over the single sigmoid unit would be 1 for every masked input, giving every channel
  the same weight.

Each map follows tf-keras-vis 0.8.7 (ReLU on the map, upsampling with scipy's
`zoom(order=1)`, which aligns corners, and min-max normalisation) but the model runs in
one `tf.function` with a fixed input signature: on a 2-core CPU, tf-keras-vis called
eagerly is about ten times slower than one compiled forward pass.
`tests/core/explain/test_explainer.py` checks every map against tf-keras-vis on the same tiny model.
"""
from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf
from scipy.ndimage import zoom

from core.model.network import LOGIT_LAYER, POOL_LAYER

CLASS_LOGITS_LAYER = "class_logits"
EPSILON = 1e-7  # keras.backend.epsilon(), the guard in tf-keras-vis's normalisation.


def check_flat(model: keras.Model) -> None:
    """Raise ValueError unless `model` is flat and has a `logit` layer.

    A model that nests its ResNet50 as one layer hides the conv layers from Grad-CAM
    (tf-keras-vis issue #71).
    """
    nested = [layer.name for layer in model.layers if isinstance(layer, keras.Model)]
    if nested:
        raise ValueError(
            f"The model nests other models as layers ({', '.join(nested)}); explanations need a flat "
            "model whose conv layers are its own. Build it with core.model.network.build_classifier, "
            "which puts the ResNet50 layers directly in the classifier."
        )
    if LOGIT_LAYER not in {layer.name for layer in model.layers}:
        raise ValueError(
            f"The model has no layer named '{LOGIT_LAYER}' (the pre-sigmoid score that explanations "
            "use). Build it with core.model.network.build_classifier."
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


def log_odds(logits: tf.Tensor, class_index: tf.Tensor) -> tf.Tensor:
    """(N, 2) class logits -> (N,) log-odds of class `class_index` against the other."""
    return tf.gather(logits, class_index, axis=1) - tf.gather(logits, 1 - class_index, axis=1)


def compile_layer_gradients(view: keras.Model, layer: str) -> Callable:
    """A compiled f(batch (1, S, S, 3), class_index) -> (activations, gradients, logits, pooled).

    activations and gradients are (1, h, w, C); logits (1, 2) is the view's `[0, z]`, so the
    pass that explains also gives the answer; pooled (1, D) holds the `avg_pool` features used
    to find similar known cells ((1, 0) when the model has no such layer). Only the head lies
    between the last conv block and the score, so for the default layer this costs about one
    forward pass.
    """
    size = view.input_shape[1]
    names = {candidate.name for candidate in view.layers}
    pooled = view.get_layer(POOL_LAYER).output if POOL_LAYER in names else None
    outputs = [view.get_layer(layer).output, view.output] + ([pooled] if pooled is not None else [])
    layer_view = keras.Model(view.input, outputs)
    signature = [tf.TensorSpec((1, size, size, 3), tf.float32), tf.TensorSpec((), tf.int32)]

    @tf.function(input_signature=signature)
    def layer_gradients(batch: tf.Tensor, class_index: tf.Tensor) -> tuple[tf.Tensor, ...]:
        with tf.GradientTape() as tape:
            results = layer_view(batch, training=False)
            activations, logits = results[0], results[1]
            score = log_odds(logits, class_index)
        features = results[2] if len(results) > 2 else tf.zeros((1, 0), tf.float32)
        return activations, tape.gradient(score, activations), logits, features

    return layer_gradients


def compile_class_logits(view: keras.Model) -> Callable:
    """A compiled f(batch (N, S, S, 3) scaled) -> (N, 2) class logits `[0, z]`: one forward pass."""
    size = view.input_shape[1]
    return tf.function(lambda batch: view(batch, training=False),
                       input_signature=[tf.TensorSpec((None, size, size, 3), tf.float32)])


def compile_input_gradients(view: keras.Model) -> Callable:
    """A compiled f(batch (N, S, S, 3), class_index) -> (N, S, S, 3) |d log-odds / d input|."""
    size = view.input_shape[1]
    signature = [tf.TensorSpec((None, size, size, 3), tf.float32), tf.TensorSpec((), tf.int32)]

    @tf.function(input_signature=signature)
    def input_gradients(batch: tf.Tensor, class_index: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            tape.watch(batch)
            score = tf.reduce_sum(log_odds(view(batch, training=False), class_index))
        return tf.abs(tape.gradient(score, batch))

    return input_gradients


def spread_strided_gradients(gradients: np.ndarray) -> np.ndarray:
    """(h, w, C) gradients -> the same shape, each 2x2 cell given its top-left gradient when only those are non-zero.

    In Keras' ResNet50 every stage after the second starts with stride-2 1x1 convolutions (main
    path and shortcut), which read only the top-left position of each 2x2 cell of the previous
    stage's output. The gradient at the other three positions of stages 3 and 4 is therefore
    exactly zero, and methods that weight each position by its own gradient (Grad-CAM++,
    LayerCAM) drew a regular grid of dots, one position in four, unrelated to the cell. Each
    read position stands for its 2x2 cell, so its gradient is spread over the cell (nearest
    neighbour). Grad-CAM, which averages gradients per channel, only changes by a constant factor.
    Gradients of any other pattern are returned unchanged.
    """
    height, width = gradients.shape[:2]
    strided = (height > 1 and width > 1 and np.any(gradients[::2, ::2])
               and not np.any(gradients[1::2]) and not np.any(gradients[:, 1::2]))
    if not strided:
        return gradients
    return np.repeat(np.repeat(gradients[::2, ::2], 2, axis=0), 2, axis=1)[:height, :width]


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
