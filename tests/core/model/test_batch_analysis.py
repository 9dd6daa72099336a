"""The patient view's batched analysis gives each cell what the one-by-one analysis gives it."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from core.imaging.prepare import prepare_cell
from core.model.analysis import analyze_cell, analyze_scoped
from core.model.evidence import ModelEvidence
from core.model.inference import Classifier
from core.model.store import load_classifier


@pytest.fixture(scope="module")
def classifier(tiny_model_path):
    """Batches in float32, so batched and single passes agree to float32 rounding; bfloat16
    batches (the default on a CPU with native bfloat16) are tested in test_fast_batches.py."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LEUKEMIA_BATCH_PRECISION", "float32")
        return Classifier(load_classifier(tiny_model_path))


@pytest.fixture(scope="module")
def cells(synthetic_data_root) -> list[np.ndarray]:
    from core.imaging.decode import load_image

    return [load_image(path).image_rgb for path in sorted(synthetic_data_root.rglob("*.bmp"))[:3]]


def assert_same(batched, single):
    # Batched and single passes may round differently (oneDNN picks kernels by batch size): float32 tolerance.
    assert batched.prediction.probability_all == pytest.approx(single.prediction.probability_all, abs=1e-5)
    assert batched.prediction.label == single.prediction.label and batched.prediction.tta_mean is None
    assert batched.scope_reasons == single.scope_reasons
    assert np.array_equal(batched.stages.model_input, single.stages.model_input)


def analyze_all(classifier, images_rgb, batch_size=32):
    """Prepare each image, then `analyze_scoped` them all."""
    prepared = [prepare_cell(image, classifier.image_size) for image in images_rgb]
    return analyze_scoped(classifier, [cell.stages for cell in prepared], [cell.scope_reasons for cell in prepared], batch_size)


def test_batched_equals_one_by_one_over_several_batches(classifier, cells):
    batched = analyze_all(classifier, cells, batch_size=2)  # Two batches: 2 cells and 1.
    assert len(batched) == len(cells)
    for one, image_rgb in zip(batched, cells):
        assert_same(one, analyze_cell(classifier, image_rgb, with_tta=False))


def test_with_an_index_the_features_come_from_the_same_pass(classifier, cells):
    with_index = Classifier(classifier.loaded)
    with_index.batch_precision = classifier.batch_precision  # float32, as the fixture's
    with_index.evidence = replace(ModelEvidence(), index=object(), ood_threshold=1.0)  # Only "has an index" matters here.
    batched = analyze_all(with_index, cells, batch_size=2)
    for one, image_rgb in zip(batched, cells):
        single = analyze_cell(with_index, image_rgb, with_tta=False)
        assert_same(one, single)
        np.testing.assert_allclose(one.features, single.features, atol=1e-4)


def test_nothing_in_nothing_out_and_mismatched_inputs_refused(classifier, cells):
    assert analyze_scoped(classifier, [], []) == []
    stages = [prepare_cell(image, classifier.image_size).stages for image in cells[:2]]
    with pytest.raises(ValueError, match="one per image"):
        analyze_scoped(classifier, stages, [])


def test_cells_go_through_the_model_one_batch_per_pass(classifier, cells, monkeypatch):
    sizes = []
    forward = classifier._forward
    monkeypatch.setattr(classifier, "_forward", lambda batch: sizes.append(int(batch.shape[0])) or forward(batch))
    analyze_all(classifier, cells, batch_size=2)
    assert sizes == [2, 1]  # three cells, passes of at most two


def test_the_batch_size_follows_the_device(monkeypatch):
    import tensorflow as tf

    from core.model import inference

    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: ["GPU:0"] if kind == "GPU" else [])
    assert inference.preferred_batch_size() == inference.GPU_BATCH_SIZE
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])
    assert inference.preferred_batch_size() == inference.CPU_BATCH_SIZE
