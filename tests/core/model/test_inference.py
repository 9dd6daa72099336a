"""Inference: the compiled pass agrees with Keras, TTA and batches, thread safety."""
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from core.model.inference import Classifier, dihedral_views
from core.model.network import to_model_array
from core.model.store import load_classifier


@pytest.fixture(scope="module")
def classifier(tiny_model_path):
    return Classifier(load_classifier(tiny_model_path))


@pytest.fixture(scope="module")
def inputs():
    return np.random.default_rng(0).integers(0, 255, (5, 64, 64, 3), dtype=np.uint8)


def test_compiled_pass_matches_keras(classifier, inputs):
    expected = np.asarray(classifier.loaded.model(to_model_array(inputs), training=False)).reshape(-1)
    np.testing.assert_allclose(classifier.probabilities(inputs), expected, rtol=1e-5, atol=1e-5)


def test_batches_of_any_size_give_the_same_answers(classifier, inputs):
    np.testing.assert_allclose(classifier.probabilities(inputs, batch_size=2), classifier.probabilities(inputs), atol=1e-5)


def test_decision_follows_the_threshold(classifier):
    assert classifier.decide(classifier.threshold).label == "all"
    assert classifier.decide(classifier.threshold - 1e-6).label == "hem"
    assert classifier.decide(0.2).confidence == pytest.approx(0.8)


def test_dihedral_views_are_the_eight_symmetries():
    image = np.arange(9).reshape(3, 3, 1)
    views = dihedral_views(image)
    assert views.shape == (8, 3, 3, 1)
    assert len({view.tobytes() for view in views}) == 8
    assert np.array_equal(views[0], image)


def test_tta_reports_mean_and_spread(classifier, synthetic_data_root):
    from core.imaging.decode import load_image
    from core.model.analysis import BATCHED, EXACT, analyze_cell

    image = load_image(sorted(synthetic_data_root.rglob("*.bmp"))[0]).image_rgb
    with_views, alone = analyze_cell(classifier, image), analyze_cell(classifier, image, with_tta=False)
    assert 0 <= with_views.prediction.tta_mean <= 1 and with_views.prediction.tta_std >= 0
    assert (with_views.exactness, alone.exactness) == (BATCHED, EXACT)
    # A batch of 8 and a batch of 1 round differently (oneDNN picks kernels by batch size).
    assert with_views.prediction.probability_all == pytest.approx(alone.prediction.probability_all, abs=1e-5)
    assert alone.stages.model_input.shape == (64, 64, 3)


def test_values_alone_are_the_same_whatever_the_batch(classifier, inputs):
    _, alone = classifier.exact_values(inputs)
    _, first = classifier.values(inputs[:1], batch_size=1)
    assert alone[0] == first[0]  # bit for bit: the reference every path decides on near a boundary
    np.testing.assert_allclose(classifier.values(inputs)[1], alone, atol=1e-5)
    _, again = classifier.exact_values(inputs[::-1])
    np.testing.assert_array_equal(again[::-1], alone)  # remembered, and independent of order


def test_concurrent_calls_give_the_serial_answers(classifier, inputs):
    serial = [classifier.probabilities(inputs[i : i + 1])[0] for i in range(len(inputs))]
    with ThreadPoolExecutor(max_workers=5) as pool:
        parallel = list(pool.map(lambda i: classifier.probabilities(inputs[i : i + 1])[0], range(len(inputs))))
    np.testing.assert_allclose(parallel, serial, atol=1e-5)
