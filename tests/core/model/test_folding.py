"""Folding BatchNorm into convolutions: the folded network computes what the model computes, and only foldable pairs fold."""
from __future__ import annotations

import keras
import numpy as np
import pytest

from core.model import folding
from core.model.network import POOL_LAYER, build_classifier, to_model_array, with_features


@pytest.fixture(scope="module")
def model_with_trained_norms():
    """A 64 px classifier whose BatchNorms hold statistics unlike their defaults (mean 0, variance 1, gamma 1, beta 0)."""
    model = build_classifier(image_size=64, weights=None)
    rng = np.random.default_rng(3)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            channels = layer.moving_mean.shape[0]
            layer.moving_mean.assign(rng.normal(0, 0.5, channels).astype(np.float32))
            layer.moving_variance.assign(rng.uniform(0.2, 3.0, channels).astype(np.float32))
            layer.gamma.assign(rng.uniform(0.5, 1.5, channels).astype(np.float32))
            layer.beta.assign(rng.normal(0, 0.3, channels).astype(np.float32))
    return model


def test_folded_resnet_computes_the_same_features_and_probabilities(model_with_trained_norms):
    model = model_with_trained_norms
    before = [weights.copy() for weights in model.get_weights()]
    folded = folding.fold_batch_norms(model)
    norms = [layer.name for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(norms) == 53 and len(folded.layers) == len(model.layers) - 53
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in folded.layers)
    images = to_model_array(np.random.default_rng(4).integers(0, 255, (6, 64, 64, 3), dtype=np.uint8))
    expected_features, expected = with_features(model)([images], training=False)
    got_features, got = with_features(folded)([images], training=False)
    np.testing.assert_allclose(np.asarray(got_features), np.asarray(expected_features), rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(np.asarray(got), np.asarray(expected), atol=1e-5)
    assert folded.get_layer(POOL_LAYER).output.shape == model.get_layer(POOL_LAYER).output.shape
    for mine, original in zip(model.get_weights(), before):  # the model itself is untouched
        np.testing.assert_array_equal(mine, original)


def small_network(activation: str | None, shared: bool) -> keras.Model:
    """image -> conv (activation) -> BatchNorm -> output; with `shared`, the conv also feeds a second branch."""
    inputs = keras.Input((8, 8, 2), name="image")
    conv = keras.layers.Conv2D(3, 3, padding="same", activation=activation, use_bias=False, name="conv")(inputs)
    normed = keras.layers.BatchNormalization(name="norm")(conv)
    if shared:
        normed = keras.layers.Add(name="sum")([normed, conv])
    model = keras.Model(inputs, normed)
    norm = model.get_layer("norm")
    norm.moving_mean.assign([0.5, -1.0, 2.0])
    norm.moving_variance.assign([4.0, 0.25, 1.0])
    norm.gamma.assign([2.0, 1.0, -0.5])
    norm.beta.assign([0.1, 0.2, 0.3])
    return model


@pytest.mark.parametrize(("activation", "shared", "folds"), [
    (None, False, True),     # a bare convolution folds, gaining the bias it did not have
    ("relu", False, False),  # the ReLU sits between the two: folding would change the function
    (None, True, False),     # another layer reads the convolution before the normalisation
])
def test_only_a_bare_convolution_read_by_nothing_else_folds(activation, shared, folds):
    model = small_network(activation, shared)
    assert folding.foldable_pairs(model.get_config()) == ({"norm": "conv"} if folds else {})
    folded = folding.fold_batch_norms(model)
    images = np.random.default_rng(5).normal(size=(2, 8, 8, 2)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(folded(images)), np.asarray(model(images, training=False)), rtol=1e-5, atol=1e-5)
    assert ("norm" in [layer.name for layer in folded.layers]) is not folds
