"""The tf.data pipeline: same crops as the app, cached after one pass, reproducible augmentation."""
import numpy as np
import pytest
import tensorflow as tf

from core.training import pipeline
from core.imaging.decode import load_image
from core.model.network import to_model_array
from core.imaging.preprocess import model_input_for


@pytest.fixture(scope="module")
def paths(synthetic_data_root):
    return sorted(str(path) for path in (synthetic_data_root / "training_data").rglob("*.bmp"))[:6]


def test_scale_for_model_equals_the_numpy_path():
    images = np.random.default_rng(0).integers(0, 255, (2, 8, 8, 3), dtype=np.uint8)
    np.testing.assert_allclose(pipeline.scale_for_model(tf.constant(images)).numpy(), to_model_array(images), atol=1e-4)


def test_pipeline_crops_are_the_shared_preprocessing(paths):
    dataset = pipeline.make_dataset(paths, None, 64, batch_size=3)
    first = next(iter(dataset)).numpy()
    expected = to_model_array(np.stack([model_input_for(load_image(path).image_rgb, 64) for path in paths[:3]]))
    np.testing.assert_allclose(first, expected, atol=1e-4)


def test_second_epoch_reads_the_cache_instead_of_preprocessing(paths, tmp_path, monkeypatch):
    calls = []
    original = pipeline.load_model_input
    monkeypatch.setattr(pipeline, "load_model_input", lambda path, size: calls.append(path) or original(path, size))
    dataset = pipeline.make_dataset(paths, [1, 0] * 3, 64, batch_size=4, training=True, cache_dir=tmp_path)
    for _ in range(2):
        for _images, labels in dataset:
            assert labels.shape[0] <= 4
    assert len(calls) == len(paths)  # Epoch 2 never re-ran CLAHE.
    assert list(tmp_path.glob("crops-*"))


def test_augmentation_is_reproducible_and_label_preserving(paths):
    def first_batch(seed):
        dataset = pipeline.make_dataset(paths, [1, 1, 1, 0, 0, 0], 64, batch_size=6, training=True, seed=seed)
        images, labels = next(iter(dataset))
        return images.numpy(), sorted(labels.numpy().tolist())

    first, labels = first_batch(7)
    again, _ = first_batch(7)
    other, _ = first_batch(8)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert labels == [0, 0, 0, 1, 1, 1]


def test_augment_keeps_range_and_shape():
    image = tf.random.uniform((16, 16, 3), 0, 255)
    augmented = pipeline.augment(image, tf.constant([1, 2], tf.int64))
    assert augmented.shape == (16, 16, 3)
    assert float(tf.reduce_min(augmented)) >= 0 and float(tf.reduce_max(augmented)) <= 255
