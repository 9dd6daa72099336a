"""Where the model looked: Grad-CAM and its relatives for one preprocessed cell image.

    python -m core.explain --model models/leukemia_resnet50.keras --method gradcam --out DIR IMAGE_OR_DIR...

`Explainer` computes (S, S) float32 heatmaps in [0, 1] for the model input; the maps are
computed by `core.cams` and drawn by `core.heatmaps`. A heatmap shows which pixels drove
the score; it does not show that the answer is right.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from core import config
from core.explain import cams
from core.errors import LeukemiaAppError
from core.explain.heatmaps import heatmap_on_original, overlay, png_bytes
from core.imaging.decode import load_image
from core.model.inference import Classifier
from core.model.network import load_classifier, to_model_array
from core.cli.predict import FileResult, expand_inputs
from core.imaging.preprocess import preprocess_cell
from core.explain.sanity import randomized_explainer, randomized_top_copy, sanity_check

__all__ = [
    "LAYERS", "METHODS", "TARGETS", "Explainer", "benchmark_methods", "heatmap_on_original",
    "overlay", "png_bytes", "randomized_explainer", "randomized_top_copy", "sanity_check",
]

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
TARGETS = config.CLASS_NAMES  # ("hem", "all"): a target's index is its column in the class-logit view.
GRADIENT_CAMS = {"gradcam": cams.gradcam, "gradcam++": cams.gradcam_plus_plus, "layercam": cams.layercam}
SCORECAM_MAPS = 64
SMOOTH_SAMPLES = 20
SMOOTH_NOISE = 0.20


class Explainer:
    """Heatmaps for one flat classifier; compiled functions are built once per layer and reused.

    Args:
        model: a flat model from `core.model.build_classifier` (its `logit` layer is scored).
        lock: held around every model call; pass `Classifier.lock` when the model is shared.
        scorecam_maps: how many channels Score-CAM masks the input with (Faster Score-CAM).
        smooth_samples, smooth_noise, seed: SmoothGrad's noisy copies, noise level relative to
            the input's range, and the seed that makes its maps reproducible.

    Raises:
        ValueError: the model nests another model as a layer, or has no `logit` layer.
    """

    def __init__(self, model: keras.Model, lock: threading.Lock | None = None, scorecam_maps: int = SCORECAM_MAPS,
                 smooth_samples: int = SMOOTH_SAMPLES, smooth_noise: float = SMOOTH_NOISE, seed: int = 0) -> None:
        cams.check_flat(model)
        self.model = model
        self.lock = lock if lock is not None else threading.Lock()
        self.image_size = int(model.input_shape[1])
        self.scorecam_maps = scorecam_maps
        self.smooth_samples, self.smooth_noise, self.seed = smooth_samples, smooth_noise, seed
        self.view = cams.class_logits_view(model)  # (N, S, S, 3) scaled images -> (N, 2) [hem, all] logits [0, z]
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
            cam = GRADIENT_CAMS[method](activations, gradients)  # (h, w), from (h, w, C) arrays
        return cams.to_heatmap(cam, self.image_size)

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
            builders = {"gradients": cams.compile_layer_gradients, "scorecam": cams.compile_scorecam,
                        "input_gradients": cams.compile_input_gradients}
            arguments = {"gradients": (layer,), "scorecam": (layer, self.scorecam_maps), "input_gradients": ()}[kind]
            self._compiled[(kind, layer)] = builders[kind](self.view, *arguments)
        return self._compiled[(kind, layer)]

    def _smoothgrad(self, scaled_input: np.ndarray, class_index: tf.Tensor) -> np.ndarray:
        """SmoothGrad: |gradient| averaged over noisy copies, then the largest over colour channels."""
        noisy = scaled_input[None] + cams.smoothgrad_noise(scaled_input, self.smooth_samples, self.smooth_noise, self.seed)
        total = np.zeros(scaled_input.shape, np.float32)
        for start in range(0, len(noisy), cams.SMOOTHGRAD_CHUNK):
            with self.lock:
                function = self._function("input_gradients")
                gradients = function(tf.constant(noisy[start : start + cams.SMOOTHGRAD_CHUNK]), class_index).numpy()
            total += gradients.sum(axis=0)
        return cams.normalize((total / len(noisy)).max(axis=-1))


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


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m core.explain",
        description="Write heatmaps of where the classifier looked (research use only; a heatmap does not validate the answer).",
        epilog="For each image NAME it writes NAME.overlay.png (the heatmap over the model's input crop), "
        "NAME.heatmap.npy ((S, S) float32 in [0, 1], the model input's height and width) and NAME.input.npy: "
        "the (S, S, 3) float32 array exactly as fed to the model, i.e. the preprocessed crop after "
        "keras.applications.resnet50.preprocess_input (BGR channel order, ImageNet means subtracted, no scaling), "
        "ready to check against your own implementation. Prints one line per image: file, label, P(all), "
        "output prefix, or file, ERROR, reason. Exit status 0 when every image succeeded, 1 when some failed, "
        "2 for usage errors.",
    )
    parser.add_argument("inputs", nargs="+", metavar="IMAGE_OR_DIR", help="image files or folders of images")
    parser.add_argument("--model", default=str(config.default_model_path()), help="the .keras model (default: %(default)s)")
    parser.add_argument("--method", choices=METHODS, default="gradcam", help="explanation method (default: %(default)s)")
    parser.add_argument("--layer", default=config.LAST_CONV_LAYER,
                        help=f"conv layer to explain, e.g. {', '.join(LAYERS)} (default: %(default)s)")
    parser.add_argument("--target", choices=("all", "hem"), default="all",
                        help="class whose evidence is shown (default: %(default)s)")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for the output files (created if missing)")
    return parser.parse_args(argv)


def explain_file(
    classifier: Classifier, explainer: Explainer, path: Path, out_prefix: Path, args: argparse.Namespace
) -> FileResult:
    """Decode, preprocess, classify and explain one file and write its three outputs."""
    try:
        model_input = preprocess_cell(load_image(path).image_rgb, explainer.image_size).model_input
        prediction = classifier.classify_input(model_input)
        heatmap = explainer.explain(model_input, args.method, args.target, args.layer)
        out_prefix.with_name(out_prefix.name + ".overlay.png").write_bytes(png_bytes(overlay(model_input, heatmap)))
        np.save(out_prefix.with_name(out_prefix.name + ".heatmap.npy"), heatmap)
        np.save(out_prefix.with_name(out_prefix.name + ".input.npy"), to_model_array(model_input))
    except LeukemiaAppError as error:
        return FileResult(str(path), error=str(error))
    except OSError as error:
        return FileResult(str(path), error=f"could not write to {out_prefix.parent}: {error.strerror}")
    return FileResult(str(path), prediction.label, prediction.probability_all)


def unique_prefix(out_dir: Path, path: Path, used: set[str]) -> Path:
    """out_dir/NAME from the file's stem, with -2, -3... when two inputs share a stem."""
    name, count = path.stem, 1
    while name in used:
        count += 1
        name = f"{path.stem}-{count}"
    used.add(name)
    return out_dir / name


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        classifier = Classifier(load_classifier(args.model))
        explainer = Explainer(classifier.loaded.model, classifier.lock)
        explainer.check_layer(args.layer)
        out_dir = Path(args.out)
        out_dir.mkdir(parents=True, exist_ok=True)
    except (LeukemiaAppError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"error: could not create the output folder {args.out}: {error.strerror}", file=sys.stderr)
        return 2
    results, used = [], set()
    for path in expand_inputs(args.inputs):
        prefix = unique_prefix(out_dir, path, used)
        result = explain_file(classifier, explainer, path, prefix, args)
        print(result.line() if result.error else f"{result.line()}\t{prefix}", flush=True)
        results.append(result)
    if not results:
        print("error: no image files found in the given paths.", file=sys.stderr)
        return 1
    return 0 if all(result.error is None for result in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
