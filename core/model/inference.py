"""Classifying cells with a loaded model: one image, a batch, and test-time augmentation.

A Keras model is not thread-safe and the app shares one model between sessions, so every
call into the model holds `Classifier.lock`. The forward pass is a `tf.function` traced
once per batch shape bucket, which costs close to one compiled pass (no `model.predict`
set-up, no eager dispatch). Large batches may run in bfloat16 (`core.model.fast_batches`).
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import tensorflow as tf

from core.model import fast_batches
from core.model.network import to_model_array, with_features
from core.model.evidence import load_evidence
from core.model.prediction import AnswersAtThreshold, Prediction  # noqa: F401  (Prediction re-exported)
from core.model.recent import RecentAnswers
from core.model.store import LoadedModel

if TYPE_CHECKING:
    import keras


# Cells per forward pass when many cells are analysed (the patient view). On the idle 2-core CPU this
# project is developed on, ResNet50 at 224 px took 51.9 ms per cell in passes of 32 against 60.9 ms in
# passes of 1 (benchmarks/patient.py; a run under heavy load from other jobs had suggested the opposite).
GPU_BATCH_SIZE, CPU_BATCH_SIZE = 32, 32
EXACT_MEMORY = 256  # cells whose float32 values run alone are remembered (8 KB each with 2048 features)


def preferred_batch_size() -> int:
    """Cells per forward pass for many cells: GPU_BATCH_SIZE with a GPU visible, CPU_BATCH_SIZE otherwise."""
    return GPU_BATCH_SIZE if tf.config.list_physical_devices("GPU") else CPU_BATCH_SIZE


def dihedral_views(image: np.ndarray) -> np.ndarray:
    """(H, W, C) -> (8, H, W, C): the 4 rotations by 90 degrees, each also mirrored."""
    rotations = [np.rot90(image, quarter, axes=(0, 1)) for quarter in range(4)]
    return np.stack(rotations + [view[:, ::-1] for view in rotations])


class Classifier(AnswersAtThreshold):
    """Wraps a LoadedModel with a lock and a compiled forward pass."""

    def __init__(self, loaded: LoadedModel) -> None:
        self.loaded = loaded
        self.lock = threading.Lock()
        size = loaded.image_size
        signature = [tf.TensorSpec((None, size, size, 3), tf.float32)]
        self._forward = tf.function(lambda batch: loaded.model(batch, training=False), input_signature=signature)
        # Built on first use: the pooled features (N, 2048) and P(all) (N, 1) from one compiled pass.
        self._signature = signature
        self._forward_with_features = None
        self.evidence = load_evidence(loaded.path, loaded.metadata)  # Calibration and index of known cells, or notes.
        self.many_batch_size = preferred_batch_size()  # Cells per forward pass when analysing many at once.
        # "bfloat16" or "float32": what `fast=True` batches run in (fast_batches.batch_precision()).
        self.batch_precision = fast_batches.batch_precision()
        self._fast: dict[bool, Callable] = {}  # with features? -> compiled bfloat16 pass, built on first use
        self._folded: dict[bool, Callable | None] = {}  # with features? -> compiled float32 folded pass (None: cannot fold)
        self._exact = RecentAnswers(EXACT_MEMORY)  # a model input's content -> its (features, P(all)) run alone in float32

    def warm_up(self) -> None:
        """Trace the compiled pass now so the first user does not pay for it."""
        self.probabilities(np.zeros((1, self.image_size, self.image_size, 3), np.uint8))

    def probabilities(self, model_inputs_rgb: np.ndarray, batch_size: int = 32, fast: bool = False) -> np.ndarray:
        """(N, S, S, 3) uint8 RGB model inputs -> (N,) float32 P(all).

        With `fast` the batches run in `batch_precision` (values only: a decision on them goes
        through `core.model.answering.settle`); the default is float32 throughout.
        """
        if fast and self._fast_function(paired=False) is not None:
            return self._run(self._fast[False], model_inputs_rgb, batch_size)[1]
        return self._run(self._forward, model_inputs_rgb, batch_size)[1]

    def features_and_probabilities(self, model_inputs_rgb: np.ndarray, batch_size: int = 32,
                                   fast: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """(N, S, S, 3) uint8 RGB model inputs -> ((N, D) float32 pooled features, (N,) float32 P(all)), one pass per batch.

        The features are the raw `avg_pool` outputs (not normalised); `EmbeddingIndex` normalises queries.
        With TTA pass `dihedral_views(model_input_rgb)`: row 0 is the original view, the one to query the index with.
        `fast` as for `probabilities`.

        Raises:
            ModelError: the model has no pooling layer named `core.model.network.POOL_LAYER`.
        """
        if fast and self._fast_function(paired=True) is not None:
            return self._run(self._fast[True], model_inputs_rgb, batch_size)
        with self.lock:
            if self._forward_with_features is None:
                self._forward_with_features = self._compiled(self.loaded.model, paired=True)
        return self._run(self._forward_with_features, model_inputs_rgb, batch_size)

    def values(self, model_inputs_rgb: np.ndarray, batch_size: int = 32,
               fast: bool = False) -> tuple[np.ndarray | None, np.ndarray]:
        """((N, D) float32 pooled features, or None where the model has no index of known cells; (N,) float32 P(all)).

        Every path of `core.model.answering` computes through this, so a model with an index always
        runs its paired pass and one without it its plain pass, whatever the page.
        """
        if self.evidence.index is None:
            return None, self.probabilities(model_inputs_rgb, batch_size, fast)
        return self.features_and_probabilities(model_inputs_rgb, batch_size, fast)

    def folded_values(self, model_inputs_rgb: np.ndarray, batch_size: int = 32) -> tuple[np.ndarray | None, np.ndarray]:
        """`values` in float32 batches through the model's folded copy (`fast_batches.folded_for`): BATCHED values, cheaper.

        `core.model.answering.settle` runs the bfloat16 cells near a boundary through it; where the model
        cannot be folded, through the model as saved.
        """
        paired = self.evidence.index is not None
        with self.lock:
            if paired not in self._folded:
                folded = fast_batches.folded_for(self.loaded.model)
                self._folded[paired] = None if folded is None else self._compiled(folded, paired)
            function = self._folded[paired]
        if function is None:
            return self.values(model_inputs_rgb, batch_size)
        features, probabilities = self._run(function, model_inputs_rgb, batch_size)
        return (features if paired else None), probabilities

    def exact_values(self, model_inputs_rgb: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
        """`values` of each (S, S, 3) uint8 RGB input run alone in float32: the reference answer near a boundary.

        A cell alone gives the same numbers whatever batch or page it came from; the last
        EXACT_MEMORY inputs' values are remembered (by content), so a page that asks again on
        every rerun pays once.
        """
        rows = [self._exact_one(model_input) for model_input in model_inputs_rgb]
        probabilities = np.asarray([probability for _, probability in rows], np.float32).reshape(-1)
        if self.evidence.index is None:
            return None, probabilities
        dimensions = rows[0][0].shape[-1] if rows else 0
        return np.asarray([features for features, _ in rows], np.float32).reshape(len(rows), dimensions), probabilities

    def _exact_one(self, model_input_rgb: np.ndarray) -> tuple[np.ndarray | None, float]:
        remembered = self._exact.get(model_input_rgb)
        if remembered is None:
            features, probabilities = self.values(model_input_rgb[None], batch_size=1)
            remembered = self._exact.put(model_input_rgb, (None if features is None else features[0], float(probabilities[0])))
        return remembered

    def _fast_function(self, paired: bool) -> Callable | None:
        """The compiled bfloat16 pass (with pooled features or not), or None where batches run in float32."""
        if self.batch_precision != "bfloat16":
            return None
        with self.lock:
            if paired not in self._fast:
                twin = fast_batches.twin_or_none(self.loaded.model)
                if twin is None:
                    self.batch_precision = "float32"
                    return None
                self._fast[paired] = self._compiled(twin, paired)
            return self._fast[paired]

    def _compiled(self, network: keras.Model, paired: bool) -> Callable:
        """`network`'s compiled inference pass on (N, S, S, 3) float32 batches: P(all), with the pooled features first when `paired`."""
        model = with_features(network) if paired else network
        return tf.function(lambda images: model(images, training=False), input_signature=self._signature)

    def _run(self, function: Callable, model_inputs_rgb: np.ndarray, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        """`function` over the inputs a batch at a time -> ((N, D) float32 features or (0, 0), (N,) float32 P(all))."""
        features, probabilities = [], []
        for start in range(0, len(model_inputs_rgb), batch_size):
            batch = to_model_array(model_inputs_rgb[start : start + batch_size])
            with self.lock:
                outputs = function(tf.constant(batch))
            if isinstance(outputs, (tuple, list)):
                features.append(np.asarray(outputs[0].numpy(), np.float32))
                outputs = outputs[1]
            probabilities.append(np.asarray(outputs.numpy(), np.float32).reshape(-1))
        if not probabilities:
            return np.zeros((0, 0), np.float32), np.zeros((0,), np.float32)
        return (np.concatenate(features) if features else np.zeros((0, 0), np.float32)), np.concatenate(probabilities)

