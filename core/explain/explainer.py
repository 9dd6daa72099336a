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
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf
from scipy.special import expit

from core import config
from core.data import labels
from core.explain import views
from core.explain.gradcam import gradcam
from core.explain.gradcam_plus_plus import gradcam_plus_plus
from core.explain.layercam import layercam
from core.explain.methods import LAYERS, METHOD_NAMES, METHODS
from core.model.recent import RecentAnswers
from core.explain.scorecam import compile_scorecam
from core.explain.smoothgrad import SMOOTHGRAD_CHUNK, smoothgrad_noise
from core.model import fast_batches
from core.model.network import to_model_array

__all__ = ["Explainer", "GradientPass", "benchmark_methods", "GRADIENT_CAMS", "LAYERS", "METHOD_NAMES", "METHODS", "TARGETS"]
TARGETS = labels.CLASS_NAMES  # ("hem", "all"): a target's index is its column in the class-logit view.
GRADIENT_CAMS = {"gradcam": gradcam, "gradcam++": gradcam_plus_plus, "layercam": layercam}
SCORECAM_MAPS = 64
SMOOTH_SAMPLES = 20
SMOOTH_NOISE = 0.20
REMEMBERED_INPUTS = 64  # model inputs whose float32 P(all) the explainer keeps from its own passes


@dataclass(frozen=True)
class GradientPass:
    """One gradient pass for one model input: the answer, and what the gradient CAMs are built from.

    Attributes:
        activations: (h, w, C) float32, the chosen layer's output.
        gradients_all: (h, w, C) float32, d log-odds(all) / d activations.
        probability_all: P(all) from the same pass.
        features: (D,) float32 `avg_pool` features (similar known cells), or None.
    """

    activations: np.ndarray
    gradients_all: np.ndarray
    probability_all: float
    features: np.ndarray | None


class Explainer:
    """Heatmaps for one flat classifier; compiled functions are built once per layer and reused.

    Args:
        model: a flat model from `core.model.network.build_classifier` (its `logit` layer is scored).
        lock: held around every model call; pass `Classifier.lock` when the model is shared.
        threshold: the model's decision threshold on P(all), which picks the predicted class
            that `explain` shows by default; pass `Classifier.threshold`.
        scorecam_maps: how many channels Score-CAM masks the input with (Faster Score-CAM).
        smooth_samples, smooth_noise, seed: SmoothGrad's noisy copies, noise level relative to
            the input's range, and the seed that makes its maps reproducible.

    Raises:
        ValueError: the model nests another model as a layer, or has no `logit` layer.
    """

    def __init__(self, model: keras.Model, lock: threading.Lock | None = None, scorecam_maps: int = SCORECAM_MAPS,
                 smooth_samples: int = SMOOTH_SAMPLES, smooth_noise: float = SMOOTH_NOISE, seed: int = 0,
                 threshold: float = 0.5) -> None:
        views.check_flat(model)
        self.model, self.threshold = model, threshold
        self.lock = lock if lock is not None else threading.Lock()
        self.image_size = int(model.input_shape[1])
        self.scorecam_maps = scorecam_maps
        self.smooth_samples, self.smooth_noise, self.seed = smooth_samples, smooth_noise, seed
        self.view = views.class_logits_view(model)  # (N, S, S, 3) scaled images -> (N, 2) [hem, all] logits [0, z]
        self._compiled: dict[tuple[str, str], Callable] = {}
        self.batch_precision = fast_batches.batch_precision()  # what `probabilities(..., fast=True)` runs in
        self._recent = RecentAnswers(REMEMBERED_INPUTS)  # model input -> its float32 P(all), from this explainer's passes

    def check_layer(self, layer: str) -> None:
        """Raise ValueError unless `layer` is a layer of the model with a (N, h, w, C) output."""
        names = {candidate.name for candidate in self.model.layers}
        if layer not in names or len(self.model.get_layer(layer).output.shape) != 4:
            raise ValueError(f"Unknown layer '{layer}': choose a conv block output such as {', '.join(LAYERS)}.")

    def explain(self, model_input_rgb: np.ndarray, method: str = "gradcam", target: str | None = None,
                layer: str = config.LAST_CONV_LAYER) -> np.ndarray:
        """The heatmap of `target` for one model input.

        Args:
            model_input_rgb: (S, S, 3) uint8 RGB, `PreprocessResult.model_input`.
            method: one of METHODS. SmoothGrad works on the input pixels and ignores `layer`.
            target: "all" or "hem"; gradient methods score its log-odds (z or -z). None, the
                default, explains the predicted class (at `threshold`); for gradient methods the
                same pass gives the answer and the map.
            layer: the conv layer whose activations are weighted, e.g. a key of LAYERS.

        Returns:
            (S, S) float32 in [0, 1]; all zeros when the map is flat.

        Raises:
            ValueError: an unknown method, target or layer, or an input of the wrong shape.
        """
        scaled = self._checked_batch(model_input_rgb, method, target or "all", layer)  # (1, S, S, 3) float32
        if method in GRADIENT_CAMS:
            gradient_pass = self._gradient_pass(scaled, layer)
            self._recent.put(model_input_rgb, gradient_pass.probability_all)
            return self.cam(gradient_pass, method, target or self.predicted(gradient_pass.probability_all))
        if target is None:
            probability_all = float(self.probabilities(model_input_rgb[None])[0])
            self._recent.put(model_input_rgb, probability_all)
            target = self.predicted(probability_all)
        class_index = tf.constant(TARGETS.index(target), tf.int32)
        if method == "smoothgrad":
            return self._smoothgrad(scaled[0], class_index)
        with self.lock:
            cam = self._function("scorecam", layer)(tf.constant(scaled), class_index).numpy()
        return views.to_heatmap(cam, self.image_size)

    def predicted(self, probability_all: float) -> str:
        """The predicted class, "all" or "hem", for P(all) at this explainer's threshold."""
        return labels.label_for(probability_all, self.threshold)

    def gradient_pass(self, model_input_rgb: np.ndarray, layer: str = config.LAST_CONV_LAYER) -> GradientPass:
        """One compiled pass giving the answer and everything a gradient CAM needs (see `cam`)."""
        gradient_pass = self._gradient_pass(self._checked_batch(model_input_rgb, "gradcam", "all", layer), layer)
        self._recent.put(model_input_rgb, gradient_pass.probability_all)
        return gradient_pass

    def probability_all(self, model_input_rgb: np.ndarray) -> float:
        """Float32 P(all) of one (S, S, 3) uint8 RGB model input: from one of this explainer's last passes, or one now."""
        known = self._recent.get(model_input_rgb)
        if known is not None:
            return known
        probability = float(self.probabilities(model_input_rgb[None])[0])
        self._recent.put(model_input_rgb, probability)
        return probability

    def cam(self, gradient_pass: GradientPass, method: str, target: str) -> np.ndarray:
        """The (S, S) float32 heatmap in [0, 1] of a gradient method (gradcam, gradcam++, layercam) for `target`.

        The log-odds of "hem" is minus that of "all", so its gradients are the pass's, negated.
        """
        sign = 1.0 if target == "all" else -1.0
        gradients = views.spread_strided_gradients(sign * gradient_pass.gradients_all)
        return views.to_heatmap(GRADIENT_CAMS[method](gradient_pass.activations, gradients), self.image_size)

    def probabilities(self, model_inputs_rgb: np.ndarray, target: str = "all", fast: bool = False) -> np.ndarray:
        """(N, S, S, 3) uint8 RGB -> (N,) float32 P(target), in one compiled forward pass of the whole batch.

        With `fast` the pass runs in `batch_precision` (`core.model.fast_batches`: bfloat16 on a CPU
        that computes it natively); float32 by default.
        """
        kind = "fast_logits" if fast and self._fast_ready() else "logits"
        with self.lock:
            logits = self._function(kind)(tf.constant(to_model_array(model_inputs_rgb))).numpy()
        return expit(logits[:, TARGETS.index(target)] - logits[:, 1 - TARGETS.index(target)]).astype(np.float32)

    def _gradient_pass(self, scaled: np.ndarray, layer: str) -> GradientPass:
        with self.lock:
            outputs = self._function("gradients", layer)(tf.constant(scaled), tf.constant(TARGETS.index("all"), tf.int32))
        activations, gradients, logits, features = (tensor.numpy()[0] for tensor in outputs)
        return GradientPass(activations, gradients, float(expit(logits[1] - logits[0])), features if features.size else None)

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

    def _fast_ready(self) -> bool:
        """Whether the bfloat16 class-logit pass is built (building it now); False, from now on, where it cannot be."""
        if self.batch_precision != "bfloat16":
            return False
        with self.lock:
            if ("fast_logits", "") not in self._compiled:  # The class-logit view of the model's twin (the Classifier's too).
                twin = fast_batches.twin_or_none(self.model)
                if twin is None:
                    self.batch_precision = "float32"
                    return False
                self._compiled[("fast_logits", "")] = views.compile_class_logits(views.class_logits_view(twin))
        return True

    def _function(self, kind: str, layer: str = ""):
        """The compiled function of `kind` for `layer`, built on first use; call it with the lock held."""
        if (kind, layer) not in self._compiled:
            builders = {"gradients": views.compile_layer_gradients, "scorecam": compile_scorecam,
                        "input_gradients": views.compile_input_gradients, "logits": views.compile_class_logits}
            arguments = {"gradients": (layer,), "scorecam": (layer, self.scorecam_maps)}.get(kind, ())
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
