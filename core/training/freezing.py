"""Which layers train: the frozen base of the head phase, and BatchNorm momentum for random-init runs."""
from __future__ import annotations

import keras

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
