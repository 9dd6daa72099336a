"""Explanation costs at 224 px: the faithfulness curves of one heatmap, and `python -m core.explain` per extra image."""
from __future__ import annotations

import contextlib
import io
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import best_of, full_size_classifier, milliseconds, sample_bytes, verdict

FAITHFULNESS_GOAL_SECONDS = 1.0  # deletion and insertion curves of one heatmap, 16 steps each
CLI_RATIO_GOAL = 1.5  # `python -m core.explain` (Grad-CAM) per extra image / one compiled forward pass
CLI_IMAGES = 100


def bench_faithfulness(results: dict) -> None:
    """Seconds to compute one heatmap's deletion and insertion curves (one batch of 32 at 224 px)."""
    from core.explain.explainer import Explainer
    from core.explain.faithfulness import STEPS, heatmap_faithfulness
    from core.imaging.decode import load_image
    from core.imaging.preprocess import preprocess_cell

    classifier = full_size_classifier()
    explainer = Explainer(classifier.loaded.model, classifier.lock, threshold=classifier.threshold)
    stages = preprocess_cell(load_image(sample_bytes(), name="sample.bmp").image_rgb, classifier.image_size)
    heatmap = explainer.explain(stages.model_input, "gradcam", "all")
    seconds = best_of(lambda: heatmap_faithfulness(explainer, stages, heatmap, "all"), repeats=3, warmup=1)
    forward = best_of(lambda: classifier.probabilities(stages.model_input[None]), repeats=7)
    batch = np.repeat(stages.model_input[None], 2 * STEPS, axis=0)
    batch_forward = best_of(lambda: explainer.probabilities(batch), repeats=3, warmup=1)
    fast_batch_forward = best_of(lambda: explainer.probabilities(batch[1:], fast=True), repeats=3, warmup=1)
    results["faithfulness"] = {
        "batch_precision": explainer.batch_precision,
        "images_per_heatmap": 2 * STEPS - 1,  # the image itself comes from the pass that made the heatmap
        "seconds_per_heatmap": round(seconds, 3),
        "goal": f"<= {FAITHFULNESS_GOAL_SECONDS} s ({verdict(seconds, FAITHFULNESS_GOAL_SECONDS)})",
        "forward_pass_ms": milliseconds(forward),
        "batch_of_32_float32_forward_seconds": round(batch_forward, 3),
        "batch_of_31_forward_seconds_in_batch_precision": round(fast_batch_forward, 3),  # the model's share of the cost
    }


def run_cli(argv: list[str]) -> float:
    """Seconds `python -m core.explain` takes in this process (model loading included), its output swallowed."""
    from core.cli.explain import main

    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        status = main(argv)
    assert status == 0, f"core.explain exited {status}"
    return time.perf_counter() - start


def bench_explain_cli(results: dict) -> None:
    """`python -m core.explain --method gradcam` on 1 and on 100 images (files written): seconds per extra image."""
    classifier = full_size_classifier()
    folder = Path(tempfile.mkdtemp())
    images = folder / "images"
    images.mkdir()
    for number in range(CLI_IMAGES):
        (images / f"cell_{number:03d}.bmp").write_bytes(sample_bytes())
    model = ["--model", str(classifier.loaded.path), "--method", "gradcam"]
    from core.imaging.decode import load_image
    from core.imaging.preprocess import preprocess_cell

    model_input = preprocess_cell(load_image(sample_bytes(), name="s.bmp").image_rgb, classifier.image_size).model_input

    def forward_loop() -> float:
        """Seconds per compiled forward pass over as many single-image passes as the CLI makes."""
        start = time.perf_counter()
        for _ in range(CLI_IMAGES - 1):
            classifier.probabilities(model_input[None])
        return (time.perf_counter() - start) / (CLI_IMAGES - 1)

    # Both sides in turn, so the machine's load falls on both: one image, the forward loop, all images.
    one = min(run_cli(model + ["--out", str(folder / f"one_{run}"), str(images / "cell_000.bmp")]) for run in range(2))
    forward_before = forward_loop()
    many = run_cli(model + ["--out", str(folder / "many"), str(images)])
    forward = (forward_before + forward_loop()) / 2
    per_extra = (many - one) / (CLI_IMAGES - 1)
    ratio = per_extra / forward
    results["explain_cli"] = {
        "images": CLI_IMAGES,
        "one_image_seconds": round(one, 2),
        "all_images_seconds": round(many, 2),
        "per_extra_image_ms": milliseconds(per_extra),
        "forward_pass_ms": milliseconds(forward),
        "ratio_to_forward": f"{ratio:.2f} (goal <= {CLI_RATIO_GOAL}: {verdict(ratio, CLI_RATIO_GOAL)})",
    }
