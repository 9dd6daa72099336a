"""The ResNet50 classifier, built flat; `core.model.store` saves and loads it with its sidecar.

The model takes (batch, size, size, 3) float32 images already passed through
`to_model_array` (Keras' ResNet50 "caffe" preprocessing: RGB -> BGR, ImageNet means
subtracted) and outputs P(all) from one sigmoid unit. The head's last Dense layer is
named `logit` so explanations can score the pre-sigmoid value.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from core import config
from core.errors import ModelError

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402  (after the log-level setting)

INPUT_LAYER = "image"
POOL_LAYER = "avg_pool"
LOGIT_LAYER = "logit"
PROBABILITY_LAYER = "probability"
# Every layer that is not ResNet50's: frozen-base training trains these, and only these.
HEAD_LAYERS = frozenset({INPUT_LAYER, POOL_LAYER, "head_dropout_1", "head_dense", "head_dropout_2", LOGIT_LAYER, PROBABILITY_LAYER})
IMAGENET_NOTOP_FILE = "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"


def to_model_array(images_rgb: np.ndarray) -> np.ndarray:
    """uint8 RGB (..., H, W, 3) in [0, 255] -> float32 BGR, ImageNet means subtracted (a copy)."""
    batch = np.asarray(images_rgb, dtype=np.float32).copy()
    return keras.applications.resnet50.preprocess_input(batch)


def resolve_weights(weights: str | os.PathLike | None) -> str | None:
    """Map the CLI's `imagenet` / `none` / PATH to what `keras.applications.ResNet50` accepts."""
    if weights is None or str(weights).lower() == "none":
        return None
    if str(weights).lower() == "imagenet":
        return "imagenet"
    path = Path(weights).expanduser()
    if not path.is_file():
        raise ModelError(
            f"Weights file {path} does not exist. Pass --weights imagenet (needs internet), "
            f"--weights none (random start), or the path to {IMAGENET_NOTOP_FILE}."
        )
    return str(path)


def build_classifier(
    image_size: int = config.IMAGE_SIZE,
    weights: str | os.PathLike | None = "imagenet",
    dense_units: int = 256,
    dropout: float = 0.5,
) -> keras.Model:
    """ResNet50 without its top, then pooling, dropout, dense, dropout and one sigmoid unit.

    The model is flat (the base is built on our `input_tensor`, the head on `base.output`),
    so every conv layer, e.g. `conv5_block3_out`, is reachable for Grad-CAM.

    Raises:
        ModelError: ImageNet weights could not be downloaded, or a weights file is unusable.
    """
    resolved = resolve_weights(weights)
    inputs = keras.Input(shape=(image_size, image_size, 3), name=INPUT_LAYER)
    try:
        base = keras.applications.ResNet50(include_top=False, weights=resolved, input_tensor=inputs)
    except Exception as error:  # Keras raises URL, OS and value errors here.
        raise ModelError(
            f"Could not load ResNet50 weights '{weights}': {error}. ImageNet weights need an "
            "internet connection; offline, copy "
            f"{IMAGENET_NOTOP_FILE} to ~/.keras/models/ or pass --weights PATH to it, "
            "or use --weights none to start from random weights."
        ) from error
    features = keras.layers.GlobalAveragePooling2D(name=POOL_LAYER)(base.output)
    features = keras.layers.Dropout(dropout, name="head_dropout_1")(features)
    features = keras.layers.Dense(dense_units, activation="relu", name="head_dense")(features)
    features = keras.layers.Dropout(dropout / 2, name="head_dropout_2")(features)
    logit = keras.layers.Dense(1, name=LOGIT_LAYER, dtype="float32")(features)
    probability = keras.layers.Activation("sigmoid", name=PROBABILITY_LAYER, dtype="float32")(logit)
    return keras.Model(inputs, probability, name="leukemia_resnet50")


def with_features(model: keras.Model) -> keras.Model:
    """The same model (shared weights) with two outputs: pooled features (N, 2048) and P(all) (N, 1).

    Raises:
        ModelError: the model has no `POOL_LAYER` (it was not built by `build_classifier`).
    """
    try:
        pooled = model.get_layer(POOL_LAYER).output
    except ValueError as error:
        raise ModelError(f"The model has no '{POOL_LAYER}' layer, so it gives no features for similar cells. Retrain it with this code.") from error
    return keras.Model(model.inputs, [pooled, model.output], name=f"{model.name}_with_features")
