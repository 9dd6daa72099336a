"""tf.data input pipeline: stream from disk, preprocess in parallel, cache crops on disk.

Memory stays bounded whatever the dataset's size: images are decoded on demand by a few
parallel workers, the preprocessed uint8 crops are cached in a file (not in RAM) so epoch
2 onwards never re-runs CLAHE, and the shuffle buffer has a fixed size. (The original
method loads every image into RAM as float32: 6.4 GB for C-NMC.)
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Sequence

import keras
import numpy as np
import tensorflow as tf

from core import config
from core.imaging.decode import load_image
from core.imaging.preprocess import model_input_for

SHUFFLE_BUFFER = 512


def load_model_input(path: bytes | str, image_size: int) -> np.ndarray:
    """Decode one file and run the shared preprocessing: -> (S, S, 3) uint8 RGB."""
    path = path.decode() if isinstance(path, bytes) else path
    return model_input_for(load_image(path).image_rgb, int(image_size))


def scale_for_model(images_rgb: tf.Tensor) -> tf.Tensor:
    """uint8 or float RGB (..., H, W, 3) in [0, 255] -> float32 caffe-scaled BGR, as `to_model_array` does.

    Keras' own `resnet50.preprocess_input` (RGB -> BGR, ImageNet means subtracted) on a tensor.
    """
    return keras.applications.resnet50.preprocess_input(tf.cast(images_rgb, tf.float32))


def augment(image_rgb: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """Cell-friendly augmentation of one (S, S, 3) float32 RGB in [0, 255].

    Flips and 90-degree rotations (a cell has no up or down) and a small colour jitter
    (stain and illumination vary between slides). `seed` is a (2,) int tensor.
    """
    seeds = tf.random.experimental.stateless_split(seed, num=5)
    image_rgb = tf.image.stateless_random_flip_left_right(image_rgb / 255.0, seeds[0])
    quarter_turns = tf.random.stateless_uniform([], seeds[1], 0, 4, dtype=tf.int32)
    image_rgb = tf.image.rot90(image_rgb, quarter_turns)
    image_rgb = tf.image.stateless_random_brightness(image_rgb, 0.05, seeds[2])
    image_rgb = tf.image.stateless_random_saturation(image_rgb, 0.9, 1.1, seeds[3])
    image_rgb = tf.image.stateless_random_hue(image_rgb, 0.02, seeds[4])
    return tf.clip_by_value(image_rgb, 0.0, 1.0) * 255.0


def cache_key(paths: Sequence[str], image_size: int) -> str:
    """A short hash of the file list and preprocessing settings: a stale cache is never reused."""
    digest = hashlib.sha256(f"{image_size}|{config.CLAHE_CLIP_LIMIT}|{config.CLAHE_TILE_GRID}|{config.CROP_MARGIN_FRACTION}".encode())
    for path in paths:
        digest.update(path.encode() + b"\n")
    return digest.hexdigest()[:16]


def crops_dataset(paths: Sequence[str], image_size: int, cache_dir: Path | None) -> tf.data.Dataset:
    """Dataset of (S, S, 3) uint8 RGB crops in `paths` order, cached to a file when cache_dir is set."""

    def load(path: tf.Tensor) -> tf.Tensor:
        crop = tf.numpy_function(load_model_input, [path, image_size], tf.uint8, stateful=False)
        return tf.ensure_shape(crop, (image_size, image_size, 3))

    dataset = tf.data.Dataset.from_tensor_slices(list(paths)).map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if cache_dir is None:
        return dataset
    Path(cache_dir).mkdir(parents=True, exist_ok=True)
    return dataset.cache(str(Path(cache_dir) / f"crops-{cache_key(paths, image_size)}"))


def make_dataset(
    paths: Sequence[str],
    labels: Sequence[int] | None,
    image_size: int,
    batch_size: int,
    training: bool = False,
    cache_dir: Path | None = None,
    seed: int = 0,
) -> tf.data.Dataset:
    """Batches of (float32 (B, S, S, 3) caffe-scaled images, float32 (B,) labels) or images only.

    Args:
        paths: image files, decoded with `core.imaging.decode` and preprocessed with `core.imaging.preprocess`.
        labels: 1 for "all", 0 for "hem"; None for unlabeled data.
        training: shuffle (bounded buffer) and augment each epoch differently but reproducibly.
        cache_dir: where the uint8 crops are cached after the first full pass; None: no cache.
    """
    crops = crops_dataset([str(path) for path in paths], image_size, cache_dir)
    if labels is not None:
        crops = tf.data.Dataset.zip(crops, tf.data.Dataset.from_tensor_slices(np.asarray(labels, np.float32)))
    else:
        crops = crops.map(lambda crop: (crop,))
    if training:
        crops = crops.shuffle(SHUFFLE_BUFFER, seed=seed, reshuffle_each_iteration=True)
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        crops = tf.data.Dataset.zip(crops, seeds).map(
            lambda item, pair_seed: (augment(tf.cast(item[0], tf.float32), pair_seed), *item[1:]),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )
    crops = crops.map(lambda image, *rest: (scale_for_model(image), *rest))
    batched = crops.batch(batch_size).prefetch(tf.data.AUTOTUNE)
    return batched if labels is not None else batched.map(lambda images: images)
