"""Model building and safe loading: flat graph, named layers, clear errors for bad files."""
import json

import keras
import numpy as np
import pytest

from core import config
from core.data import labels
from core.errors import ModelError
from core.model.network import LOGIT_LAYER, build_classifier, to_model_array
from core.model.store import load_classifier


@pytest.fixture(scope="module")
def tiny_model():
    return build_classifier(image_size=64, weights=None)


def test_model_is_flat_with_the_last_conv_layer_reachable(tiny_model):
    assert not any(isinstance(layer, keras.Model) for layer in tiny_model.layers)
    assert tiny_model.get_layer(config.LAST_CONV_LAYER).output.shape[-1] == 2048
    assert tiny_model.get_layer(LOGIT_LAYER).activation.__name__ == "linear"
    assert tiny_model.output_shape == (None, 1)


def test_output_is_a_probability(tiny_model):
    batch = to_model_array(np.random.default_rng(0).integers(0, 255, (2, 64, 64, 3), dtype=np.uint8))
    output = np.asarray(tiny_model(batch, training=False))
    assert output.shape == (2, 1) and np.all((output >= 0) & (output <= 1))


def test_to_model_array_does_not_modify_its_input():
    image = np.full((1, 4, 4, 3), 200, np.uint8)
    scaled = to_model_array(image)
    assert image.max() == 200 and scaled.dtype == np.float32
    assert scaled[0, 0, 0, 0] == pytest.approx(200 - 103.939)  # Blue first, ImageNet mean removed.


@pytest.mark.parametrize("weights, message", [("/no/such/weights.h5", "does not exist")])
def test_missing_weights_file_names_alternatives(weights, message):
    with pytest.raises(ModelError, match=message) as error:
        build_classifier(64, weights=weights)
    assert "--weights none" in str(error.value)


def test_save_then_load_round_trip_checks_sha(tiny_model_path):
    loaded = load_classifier(tiny_model_path)
    assert loaded.sha256_matches is True and loaded.image_size == 64 and loaded.threshold == 0.5


@pytest.mark.slow
def test_tampered_file_is_refused_unless_explicitly_allowed(tiny_model_path, tmp_path, monkeypatch):
    copy = tmp_path / "copy.keras"
    copy.write_bytes(tiny_model_path.read_bytes())
    metadata = json.loads(tiny_model_path.with_suffix(".json").read_text())
    metadata["sha256"] = "0" * 64
    copy.with_suffix(".json").write_text(json.dumps(metadata))
    with pytest.raises(ModelError, match="LEUKEMIA_ALLOW_MODIFIED_MODEL=1"):
        load_classifier(copy)
    loaded = load_classifier(copy, allow_modified=True)
    assert loaded.sha256_matches is False and any("SHA-256" in warning for warning in loaded.warnings)
    monkeypatch.setenv("LEUKEMIA_ALLOW_MODIFIED_MODEL", "1")
    assert load_classifier(copy).sha256_matches is False


@pytest.mark.parametrize("name, content, message", [
    ("missing.keras", None, "No model file"),
    ("corrupt.keras", b"not a zip archive", "corrupt"),
    ("model.h5", b"x", "not a .keras"),
])
def test_bad_model_files_give_clear_errors(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ModelError, match=message):
        load_classifier(path)


def test_incompatible_model_is_refused(tmp_path):
    inputs = keras.Input((8,))
    other = keras.Model(inputs, keras.layers.Dense(3)(inputs))
    path = tmp_path / "other.keras"
    other.save(path)
    with pytest.raises(ModelError, match="not a leukemia classifier"):
        load_classifier(path)


def test_corrupt_sidecar_is_a_clear_error(tiny_model_path, tmp_path):
    copy = tmp_path / "m.keras"
    copy.write_bytes(tiny_model_path.read_bytes())
    copy.with_suffix(".json").write_text("{not json")
    with pytest.raises(ModelError, match="not valid JSON"):
        load_classifier(copy)


def test_missing_sidecar_loads_with_a_warning(tiny_model_path, tmp_path):
    copy = tmp_path / "bare.keras"
    copy.write_bytes(tiny_model_path.read_bytes())
    loaded = load_classifier(copy)
    assert loaded.sha256_matches is None and loaded.warnings
    assert loaded.metadata["class_names"] == list(labels.CLASS_NAMES)


def test_safe_mode_refuses_lambda_layers(tmp_path):
    inputs = keras.Input((64, 64, 3))
    outputs = keras.layers.Lambda(lambda x: x[:, :1, :1, :1])(inputs)
    path = tmp_path / "lambda.keras"
    keras.Model(inputs, keras.layers.Flatten()(outputs)).save(path)
    with pytest.raises(ModelError):
        load_classifier(path)


def test_imagenet_download_failure_says_so_and_names_alternatives(monkeypatch):
    def offline(*args, **kwargs):
        raise OSError("URL fetch failure: no network")

    monkeypatch.setattr(keras.applications, "ResNet50", offline)
    with pytest.raises(ModelError) as error:
        build_classifier(64, weights="imagenet")
    message = str(error.value)
    assert "internet" in message and "--weights none" in message and "--weights PATH" in message
