"""Hostile model files and sidecars are refused before anything is built, with one line naming the file and field.

Each case is tried through `load_classifier` and through `python -m core.predict` (exit 2, one
line, no traceback). The cases are those an attacker tried (issue: untrusted input everywhere).
"""
from __future__ import annotations

import json
import logging
import math
import shutil
import zipfile
from pathlib import Path

import pytest

from core.cli import predict
from core.errors import ModelError
from core.model.sidecar_schema import MAX_SIDECAR_BYTES, validate_sidecar
from core.model.store import load_classifier
from model_files import MARKUP_CLASS_NAME, markup_class_model


def copy_model(tiny_model_path: Path, folder: Path) -> Path:
    """The tiny model and its sidecar, copied so a test may spoil them."""
    path = folder / "model.keras"
    shutil.copy(tiny_model_path, path)
    shutil.copy(tiny_model_path.with_suffix(".json"), path.with_suffix(".json"))
    return path


def edit_sidecar(path: Path, **fields) -> None:
    metadata = json.loads(path.with_suffix(".json").read_text())
    path.with_suffix(".json").write_text(json.dumps({**metadata, **fields}))


def rewrite_archive(path: Path, config_text: str) -> None:
    """Replace the archive's config.json, keeping every other member."""
    with zipfile.ZipFile(path) as source:
        members = {info.filename: source.read(info) for info in source.infolist()}
    members["config.json"] = config_text.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in members.items():
            target.writestr(name, data)


def assert_refused_everywhere(path: Path, capsys, expected: str) -> None:
    """load_classifier raises ModelError mentioning `expected`; the CLI prints one line and exits 2."""
    with pytest.raises(ModelError, match=expected):
        load_classifier(path)
    assert predict.main(["--model", str(path), str(path)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and error.startswith("error: ") and "Traceback" not in error
    assert path.name in error or path.with_suffix(".json").name in error


@pytest.mark.parametrize(("field", "value", "expected"), [
    ("threshold", "abc", '"threshold" must be a number'),
    ("threshold", None, '"threshold" must be a number'),
    ("threshold", 5, '"threshold" must be a number between 0 and 1'),
    ("threshold", -1, '"threshold" must be a number between 0 and 1'),
    ("threshold", math.nan, '"threshold" must be a number'),
    ("threshold", True, '"threshold" must be a number'),
    ("image_size", "abc", '"image_size" must be a whole number'),
    ("image_size", [64, 64], '"image_size" must be a whole number'),
    ("image_size", 12_000, '"image_size" must be a whole number of pixels from 32 to 1024'),
    ("class_names", ["a", "b"], '"class_names" must be'),
    ("is_demo", "yes", '"is_demo" must be a bool'),
])
def test_a_sidecar_field_out_of_range_is_refused(tiny_model_path, tmp_path, capsys, field, value, expected):
    path = copy_model(tiny_model_path, tmp_path)
    edit_sidecar(path, **{field: value})
    assert_refused_everywhere(path, capsys, expected)


def test_an_oversized_sidecar_is_refused_without_being_read(tiny_model_path, tmp_path, capsys, monkeypatch):
    path = copy_model(tiny_model_path, tmp_path)
    with open(path.with_suffix(".json"), "r+b") as handle:
        handle.truncate(300 * 1024 * 1024)  # Sparse: 300 MB on paper, nothing written.
    monkeypatch.setattr(Path, "read_text", lambda *args, **kwargs: pytest.fail("the oversized sidecar was read"))
    assert_refused_everywhere(path, capsys, "it was not read")
    assert MAX_SIDECAR_BYTES < 300 * 1024 * 1024


@pytest.mark.slow
def test_a_padded_config_is_refused_from_the_declared_size(tiny_model_path, tmp_path, capsys):
    path = copy_model(tiny_model_path, tmp_path)
    with zipfile.ZipFile(path) as archive:
        config = archive.read("config.json").decode()
    rewrite_archive(path, config + " " * (20 * 1024 * 1024))  # 20 MB declared, tiny once compressed.
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo("config.json").compress_size < 1024 * 1024  # The padding costs nothing to send.
    edit_sidecar(path, sha256=None)
    assert_refused_everywhere(path, capsys, "config.json declares 20 MB")


@pytest.mark.slow
def test_a_huge_input_is_refused_before_the_model_is_built(tiny_model_path, tmp_path, capsys):
    path = copy_model(tiny_model_path, tmp_path)
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
    text = json.dumps(config).replace("[null, 64, 64, 3]", "[null, 12000, 12000, 3]")
    assert "12000" in text
    rewrite_archive(path, text)
    metadata = json.loads(path.with_suffix(".json").read_text())
    path.with_suffix(".json").write_text(json.dumps({k: v for k, v in metadata.items() if k not in ("image_size", "sha256")}))
    assert_refused_everywhere(path, capsys, "12000 x 12000 pixel inputs")


def test_a_file_that_is_not_an_archive_is_refused(tmp_path, capsys):
    path = tmp_path / "model.keras"
    path.write_bytes(b"not a zip")
    assert_refused_everywhere(path, capsys, "not a Keras v3 archive")


def test_a_good_sidecar_passes_unchanged(tiny_model_path):
    metadata = json.loads(tiny_model_path.with_suffix(".json").read_text())
    assert validate_sidecar(dict(metadata), "x.json") == metadata


@pytest.mark.slow
def test_a_layer_class_outside_the_allowed_ones_is_refused_before_keras(tiny_model_path, tmp_path, capsys, monkeypatch):
    import keras

    path = markup_class_model(tiny_model_path, tmp_path)
    monkeypatch.setattr(keras.models, "load_model", lambda *args, **kwargs: pytest.fail("Keras was given the file"))
    assert_refused_everywhere(path, capsys, "uses a layer this app does not allow")
    with pytest.raises(ModelError) as refused:
        load_classifier(path)
    assert str(refused.value).startswith(f"{path.name}: the file uses a layer this app does not allow: {MARKUP_CLASS_NAME}.")


@pytest.mark.parametrize(("keras_says", "summary"), [
    ("Could not deserialize 'keras.layers.Evil' because it is not a KerasSaveable subclass", "does not allow: Evil."),
    ("Could not locate class 'MyLayer'. Make sure custom classes are decorated", "does not allow: MyLayer."),
    ("Requested the deserialization of a `Lambda` layer whose `function` is a Python lambda", "does not allow: Lambda."),
    ("Unable to synchronously open file (truncated file)", "corrupt or from an incompatible version of Keras"),
])
def test_keras_refusals_are_summarised_and_logged_in_full(caplog, keras_says, summary):
    from core.model.store import keras_refusal

    with caplog.at_level(logging.INFO, logger="core.model.store"):
        text = keras_refusal(ValueError(keras_says))
    assert summary in text and keras_says not in text
    assert keras_says in caplog.text


def test_a_changed_file_is_refused_before_keras_parses_it(tiny_model_path, tmp_path, capsys, monkeypatch):
    import keras

    path = copy_model(tiny_model_path, tmp_path)
    edit_sidecar(path, sha256="0" * 64)
    monkeypatch.delenv("LEUKEMIA_ALLOW_MODIFIED_MODEL", raising=False)
    monkeypatch.setattr(keras.models, "load_model", lambda *args, **kwargs: pytest.fail("Keras was given the file"))
    assert_refused_everywhere(path, capsys, "LEUKEMIA_ALLOW_MODIFIED_MODEL=1")
