"""Fast batches: the bfloat16 twin computes what the model computes, close to float32 but not equal."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from core import config
from core.model import fast_batches
from core.model.inference import Classifier
from core.model.network import LOGIT_LAYER, PROBABILITY_LAYER, to_model_array
from core.model.store import load_classifier


@pytest.fixture(scope="module")
def loaded(tiny_model_path):
    return load_classifier(tiny_model_path)


@pytest.fixture(scope="module")
def inputs():
    """(40, 64, 64, 3) uint8 RGB: noise, so that P(all) spreads a little even with random weights."""
    return np.random.default_rng(1).integers(0, 255, (40, 64, 64, 3), dtype=np.uint8)


def forced_classifier(loaded, monkeypatch, threshold: float | None = None) -> Classifier:
    """A Classifier whose batches run in bfloat16 whatever this CPU is (emulated where it is not native)."""
    monkeypatch.setenv("LEUKEMIA_BATCH_PRECISION", "bfloat16")
    if threshold is not None:
        loaded = dataclasses.replace(loaded, metadata={**loaded.metadata, "threshold": threshold})
    classifier = Classifier(loaded)
    assert classifier.batch_precision == "bfloat16"
    return classifier


def test_the_twin_computes_in_bfloat16_without_batchnorm_but_keeps_its_head_float32(loaded, inputs):
    twin = fast_batches.bfloat16_twin(loaded.model)
    policies = {layer.name: layer.dtype_policy.name for layer in twin.layers}
    assert policies["conv1_conv"] == "mixed_bfloat16" and policies["conv5_block3_out"] == "mixed_bfloat16"
    assert policies[LOGIT_LAYER] == policies[PROBABILITY_LAYER] == "float32"
    assert "conv1_bn" not in policies and "conv1_bn" in [layer.name for layer in loaded.model.layers]
    for name in ("head_dense", LOGIT_LAYER):
        for mine, theirs in zip(twin.get_layer(name).get_weights(), loaded.model.get_layer(name).get_weights()):
            np.testing.assert_array_equal(mine, theirs)
    assert all(weights.dtype == np.float32 for weights in twin.get_weights())
    expected = np.asarray(loaded.model(to_model_array(inputs), training=False)).reshape(-1)
    got = np.asarray(twin(to_model_array(inputs), training=False), np.float32).reshape(-1)
    np.testing.assert_allclose(got, expected, atol=0.05)  # 8 bits of mantissa: close, not equal (0.023 seen on a random model)


@pytest.mark.slow
def test_fast_values_are_bfloat16_values_close_to_float32(loaded, inputs, monkeypatch):
    """`fast=True` gives the twin's values, not float32 ones (decisions on them go through `core.model.answering.settle`)."""
    reference = Classifier(loaded).probabilities(inputs)
    classifier = forced_classifier(loaded, monkeypatch)
    fast = classifier.probabilities(inputs, batch_size=16, fast=True)
    np.testing.assert_allclose(fast, reference, atol=0.02)
    features, paired = classifier.features_and_probabilities(inputs, batch_size=16, fast=True)
    reference_features, _ = Classifier(loaded).features_and_probabilities(inputs)
    assert features.dtype == np.float32 and features.shape == reference_features.shape
    # They stayed in bfloat16: the pooled features (never saturated, unlike a random model's P(all)) move by far
    # more than float32's rounding, about 2**-8 of their size.
    assert np.max(np.abs(features - reference_features)) > 1e-4 * np.max(np.abs(reference_features))
    np.testing.assert_allclose(paired, fast, atol=1e-5)


def test_float32_setting_and_cpus_without_native_bfloat16_keep_float32(loaded, monkeypatch, tmp_path):
    monkeypatch.setenv("LEUKEMIA_BATCH_PRECISION", "float32")
    assert Classifier(loaded).batch_precision == "float32"
    flags = tmp_path / "cpuinfo"
    flags.write_text("flags\t\t: fpu sse avx2 avx512f\n")
    assert not fast_batches.cpu_has_native_bfloat16(flags)
    flags.write_text("flags\t\t: fpu sse avx2 avx512f avx512_bf16\n")
    assert fast_batches.cpu_has_native_bfloat16(flags)
    assert not fast_batches.cpu_has_native_bfloat16(tmp_path / "missing")
    monkeypatch.setenv("LEUKEMIA_BATCH_PRECISION", "quick please")
    assert config.batch_precision_setting() == "auto"


@pytest.mark.slow
def test_a_model_that_cannot_be_rebuilt_runs_in_float32(loaded, inputs, monkeypatch):
    classifier = forced_classifier(loaded, monkeypatch)

    def refuse(model):
        raise ValueError("This model cannot run in bfloat16 (TypeError); it runs in float32.")

    monkeypatch.setattr(fast_batches, "twin_for", refuse)
    np.testing.assert_allclose(classifier.probabilities(inputs, fast=True), Classifier(loaded).probabilities(inputs), atol=1e-5)
    assert classifier.batch_precision == "float32"


def test_an_explainer_whose_model_cannot_be_rebuilt_runs_in_float32(loaded, inputs, monkeypatch):
    from core.explain.explainer import Explainer

    monkeypatch.setenv("LEUKEMIA_BATCH_PRECISION", "bfloat16")
    explainer = Explainer(loaded.model)
    assert explainer.batch_precision == "bfloat16"

    def refuse(model):
        raise ValueError("This model cannot run in bfloat16 (TypeError); it runs in float32.")

    monkeypatch.setattr(fast_batches, "twin_for", refuse)
    np.testing.assert_allclose(explainer.probabilities(inputs, fast=True), explainer.probabilities(inputs), atol=1e-6)
    assert explainer.batch_precision == "float32"


def test_folded_values_are_float32_values_of_a_copy_without_batchnorm(loaded, inputs, monkeypatch):
    """The reruns' float32 batches (`Classifier.folded_values`) run the folded copy: the model's values, not bfloat16's."""
    folded = fast_batches.folded_for(loaded.model)
    assert folded is not None and folded is fast_batches.folded_for(loaded.model)  # one copy per model
    assert "conv1_bn" not in [layer.name for layer in folded.layers]
    assert {layer.dtype_policy.name for layer in folded.layers} == {"float32"}
    classifier = Classifier(loaded)
    _, reference = classifier.values(inputs)
    features, probabilities = classifier.folded_values(inputs, batch_size=16)
    assert features is None  # the tiny model has no index: the plain pass, as `values` runs
    np.testing.assert_allclose(probabilities, reference, atol=1e-5)
    monkeypatch.setattr(classifier, "_folded", {False: None})  # a model that could not be folded: the model as saved
    np.testing.assert_array_equal(classifier.folded_values(inputs)[1], reference)
