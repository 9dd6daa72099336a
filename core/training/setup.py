"""How the network trains: distribution strategy, precision, frozen layers, BatchNorm momentum."""
from __future__ import annotations

import os

import keras
import tensorflow as tf

from core.model.network import HEAD_LAYERS


def set_bn_momentum(model: keras.Model, momentum: float | None) -> None:
    """Make BatchNorm's moving statistics follow the weights faster (random-init, short runs)."""
    if momentum is None:
        return
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = momentum


def freeze_base(model: keras.Model, trainable: bool, keep_bn_frozen: bool) -> None:
    """Freeze or unfreeze the ResNet50 layers; BatchNorm stays in inference mode when asked."""
    for layer in model.layers:
        if layer.name in HEAD_LAYERS:
            continue
        is_bn = isinstance(layer, keras.layers.BatchNormalization)
        layer.trainable = trainable and not (is_bn and keep_bn_frozen)


def choose_strategy() -> tf.distribute.Strategy:
    """MultiWorkerMirrored with TF_CONFIG, Mirrored with several GPUs, else the default strategy."""
    if os.environ.get("TF_CONFIG"):
        return tf.distribute.MultiWorkerMirroredStrategy()
    if len(tf.config.list_physical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def configure_precision(mode: str) -> str:
    """Set the Keras dtype policy: mixed_float16 on GPUs with tensor cores when mode is auto/on."""
    gpus = tf.config.list_physical_devices("GPU")
    use_mixed = mode == "on" or (mode == "auto" and bool(gpus))
    keras.mixed_precision.set_global_policy("mixed_float16" if use_mixed else "float32")
    return "mixed_float16" if use_mixed else "float32"
