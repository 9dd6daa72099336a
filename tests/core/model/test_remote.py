"""The inference service's client without Ray: its wire format, its identity check, and a service that fails.

The answers through a real service on a Ray cluster are in tests/core/serve/test_service.py.
"""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from paths import PROJECT_ROOT
from served_models import FakeService, identity_of

from core.errors import InferenceServiceError, ModelError
from core.model import wire
from core.model.remote import RemoteClassifier, file_digests


@pytest.fixture(scope="module")
def identity(tiny_model_path) -> wire.Identity:
    return identity_of(tiny_model_path)


def test_the_digests_are_the_ones_loading_records(tiny_model_path, identity):
    assert file_digests(tiny_model_path) == (identity.model_sha256, identity.sidecar_sha256)


def test_inputs_and_values_cross_the_wire_unchanged():
    inputs = np.random.default_rng(0).integers(0, 256, (3, 64, 64, 3), dtype=np.uint8)
    assert np.array_equal(wire.decode_inputs(wire.encode_inputs(inputs), 64), inputs)
    features, probabilities = np.random.default_rng(1).random((3, 16), np.float32), np.float32([0.1, 0.5, 0.9])
    got_features, got_probabilities = wire.decode_values(wire.encode_values(features, probabilities), 3)
    assert np.array_equal(got_features, features) and np.array_equal(got_probabilities, probabilities)
    assert wire.decode_values(wire.encode_values(None, probabilities), 3)[0] is None


@pytest.mark.parametrize("inputs", [np.zeros((1, 64, 64, 3), np.float32), np.zeros((1, 32, 32, 3), np.uint8),
                                    np.zeros((64, 64, 3), np.uint8), np.zeros((wire.MAX_CELLS_PER_REQUEST + 1, 64, 64, 3), np.uint8)],
                         ids=["float32", "other size", "no batch axis", "too many"])
def test_the_service_refuses_inputs_that_are_not_model_inputs(inputs):
    with pytest.raises(ValueError, match="uint8 RGB model inputs"):
        wire.decode_inputs(wire.encode_inputs(inputs), 64)


def test_a_pickle_is_not_read():
    import io
    import pickle

    buffer = io.BytesIO()
    np.save(buffer, np.array([object()], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="not a .npy array"):
        wire.decode_inputs(buffer.getvalue() + pickle.dumps(1), 64)


def test_a_service_that_is_not_there_is_one_sentence_saying_how_to_start_it(tiny_model_path):
    with FakeService(identity_of(tiny_model_path)) as url:
        pass  # its port is free again
    with pytest.raises(InferenceServiceError, match="did not answer") as caught:
        RemoteClassifier.connect(url, tiny_model_path, timeout_s=5)
    assert url in str(caught.value) and "python -m core.serve" in str(caught.value) and "\n" not in str(caught.value)


def test_a_service_running_another_model_is_refused(tiny_model_path, identity, tmp_path):
    other = identity_of(tiny_model_path)
    other = wire.Identity(other.model_sha256, "0" * 64, other.metadata, [], "float32", 32)  # another sidecar
    with FakeService(other) as url, pytest.raises(ModelError, match="runs another model"):
        RemoteClassifier.connect(url, tiny_model_path, timeout_s=5)


@pytest.mark.parametrize(("status", "error", "words"), [(503, InferenceServiceError, "HTTP 503: The replica is restarting"),
                                                        (409, ModelError, "The replica is restarting")])
def test_a_failed_request_is_an_error_for_people(tiny_model_path, identity, status, error, words):
    with FakeService(identity, status=status) as url:
        remote = RemoteClassifier.connect(url, tiny_model_path, timeout_s=5)
        assert remote.loaded.model is None and remote.threshold == identity.metadata["threshold"]
        with pytest.raises(error, match=words):
            remote.values(np.zeros((2, 64, 64, 3), np.uint8), fast=True)


def test_the_client_loads_neither_ray_nor_tensorflow():
    code = "import sys, core.model.remote; print(sorted({'ray', 'tensorflow', 'keras'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
