"""Where the model looked: Grad-CAM and its relatives for one preprocessed cell image.

`Explainer` computes (S, S) float32 heatmaps in [0, 1] for the model input; each method has
its own module in `core.explain`, and `core.explain.heatmaps` draws the maps. A heatmap shows
which pixels drove the score; it does not show that the answer is right. The command line
is `core.cli.explain`.
"""
from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable, Sequence

import keras
import numpy as np
import tensorflow as tf

from core import config
from core.data import labels
from core.explain import views
from core.explain.gradcam import gradcam
from core.explain.gradcam_plus_plus import gradcam_plus_plus
from core.explain.layercam import layercam
from core.explain.scorecam import compile_scorecam
from core.explain.smoothgrad import SMOOTHGRAD_CHUNK, smoothgrad_noise
from core.model.network import to_model_array

METHODS = ("gradcam", "gradcam++", "scorecam", "layercam", "smoothgrad")
METHOD_NAMES = {
    "gradcam": "Grad-CAM", "gradcam++": "Grad-CAM++", "scorecam": "Score-CAM",
    "layercam": "LayerCAM", "smoothgrad": "SmoothGrad",
}
LAYERS = {
    "conv3_block4_out": "Stage 3 (last block)",
    "conv4_block6_out": "Stage 4 (last block)",
    "conv5_block3_out": "Stage 5 (last block)",
}
TARGETS = labels.CLASS_NAMES  # ("hem", "all"): a target's index is its column in the class-logit view.
GRADIENT_CAMS = {"gradcam": gradcam, "gradcam++": gradcam_plus_plus, "layercam": layercam}
SCORECAM_MAPS = 64
SMOOTH_SAMPLES = 20
SMOOTH_NOISE = 0.20


class Explainer:
    """Heatmaps for one flat classifier; compiled functions are built once per layer and reused.

    Args:
        model: a flat model from `core.model.network.build_classifier` (its `logit` layer is scored).
        lock: held around every model call; pass `Classifier.lock` when the model is shared.
        scorecam_maps: how many channels Score-CAM masks the input with (Faster Score-CAM).
        smooth_samples, smooth_noise, seed: SmoothGrad's noisy copies, noise level relative to
            the input's range, and the seed that makes its maps reproducible.

    Raises:
        ValueError: the model nests another model as a layer, or has no `logit` layer.
    """

    def __init__(self, model: keras.Model, lock: threading.Lock | None = None, scorecam_maps: int = SCORECAM_MAPS,
                 smooth_samples: int = SMOOTH_SAMPLES, smooth_noise: float = SMOOTH_NOISE, seed: int = 0) -> None:
        views.check_flat(model)
        self.model = model
        self.lock = lock if lock is not None else threading.Lock()
        self.image_size = int(model.input_shape[1])
        self.scorecam_maps = scorecam_maps
        self.smooth_samples, self.smooth_noise, self.seed = smooth_samples, smooth_noise, seed
        self.view = views.class_logits_view(model)  # (N, S, S, 3) scaled images -> (N, 2) [hem, all] logits [0, z]
        self._compiled: dict[tuple[str, str], Callable] = {}

    def check_layer(self, layer: str) -> None:
        """Raise ValueError unless `layer` is a layer of the model with a (N, h, w, C) output."""
        names = {candidate.name for candidate in self.model.layers}
        if layer not in names or len(self.model.get_layer(layer).output.shape) != 4:
            raise ValueError(f"Unknown layer '{layer}': choose a conv block output such as {', '.join(LAYERS)}.")

    def explain(self, model_input_rgb: np.ndarray, method: str = "gradcam", target: str = "all",
                layer: str = config.LAST_CONV_LAYER) -> np.ndarray:
        """The heatmap of `target` for one model input.

        Args:
            model_input_rgb: (S, S, 3) uint8 RGB, `PreprocessResult.model_input`.
            method: one of METHODS. SmoothGrad works on the input pixels and ignores `layer`.
            target: "all" or "hem"; gradient methods score its log-odds (z or -z).
            layer: the conv layer whose activations are weighted, e.g. a key of LAYERS.

        Returns:
            (S, S) float32 in [0, 1]; all zeros when the map is flat.

        Raises:
            ValueError: an unknown method, target or layer, or an input of the wrong shape.
        """
        scaled = self._checked_batch(model_input_rgb, method, target, layer)  # (1, S, S, 3) float32
        class_index = tf.constant(TARGETS.index(target), tf.int32)
        if method == "smoothgrad":
            return self._smoothgrad(scaled[0], class_index)
        batch = tf.constant(scaled)
        with self.lock:
            if method == "scorecam":
                cam = self._function("scorecam", layer)(batch, class_index).numpy()
            else:
                activations, gradients = (tensor.numpy()[0] for tensor in self._function("gradients", layer)(batch, class_index))
        if method != "scorecam":
            cam = GRADIENT_CAMS[method](activations, views.spread_strided_gradients(gradients))  # (h, w)
        return views.to_heatmap(cam, self.image_size)

    def _checked_batch(self, model_input_rgb: np.ndarray, method: str, target: str, layer: str) -> np.ndarray:
        if method not in METHODS:
            raise ValueError(f"Unknown method '{method}': choose one of {', '.join(METHODS)}.")
        if target not in TARGETS:
            raise ValueError(f"Unknown target '{target}': choose 'all' (leukemic) or 'hem' (healthy).")
        if method != "smoothgrad":
            self.check_layer(layer)
        expected = (self.image_size, self.image_size, 3)
        if np.shape(model_input_rgb) != expected or np.asarray(model_input_rgb).dtype != np.uint8:
            raise ValueError(
                f"Expected the (S, S, 3) uint8 RGB model input with S = {self.image_size}; got "
                f"{np.asarray(model_input_rgb).dtype} {np.shape(model_input_rgb)}. Use PreprocessResult.model_input."
            )
        return to_model_array(model_input_rgb[None])  # (1, S, S, 3) float32, caffe-scaled

    def _function(self, kind: str, layer: str = ""):
        """The compiled function of `kind` for `layer`, built on first use; call it with the lock held."""
        if (kind, layer) not in self._compiled:
            builders = {"gradients": views.compile_layer_gradients, "scorecam": compile_scorecam,
                        "input_gradients": views.compile_input_gradients}
            arguments = {"gradients": (layer,), "scorecam": (layer, self.scorecam_maps), "input_gradients": ()}[kind]
            self._compiled[(kind, layer)] = builders[kind](self.view, *arguments)
        return self._compiled[(kind, layer)]

    def _smoothgrad(self, scaled_input: np.ndarray, class_index: tf.Tensor) -> np.ndarray:
        """SmoothGrad: |gradient| averaged over noisy copies, then the largest over colour channels."""
        noisy = scaled_input[None] + smoothgrad_noise(scaled_input, self.smooth_samples, self.smooth_noise, self.seed)
        total = np.zeros(scaled_input.shape, np.float32)
        for start in range(0, len(noisy), SMOOTHGRAD_CHUNK):
            with self.lock:
                function = self._function("input_gradients")
                gradients = function(tf.constant(noisy[start : start + SMOOTHGRAD_CHUNK]), class_index).numpy()
            total += gradients.sum(axis=0)
        return views.normalize((total / len(noisy)).max(axis=-1))


def benchmark_methods(explainer: Explainer, model_input_rgb: np.ndarray, repeats: int = 3,
                      methods: Sequence[str] = METHODS, layer: str = config.LAST_CONV_LAYER) -> dict[str, float]:
    """Seconds per `explain` call for each method: the median of `repeats` calls after one
    untimed call that traces the compiled functions."""
    seconds = {}
    for method in methods:
        explainer.explain(model_input_rgb, method, "all", layer)
        timings = []
        for _ in range(repeats):
            start = time.perf_counter()
            explainer.explain(model_input_rgb, method, "all", layer)
            timings.append(time.perf_counter() - start)
        seconds[method] = statistics.median(timings)
    return seconds
