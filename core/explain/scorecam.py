"""Score-CAM (Wang et al. 2020, arXiv:1910.01279), as Faster Score-CAM: the input masked by conv channels."""
from __future__ import annotations

from collections.abc import Callable

import keras
import tensorflow as tf

from core.explain.views import EPSILON

SCORECAM_CHUNK = 16  # masked inputs per forward pass inside Score-CAM


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
    def scorecam(batch: tf.Tensor, class_index: tf.Tensor) -> tf.Tensor:
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
