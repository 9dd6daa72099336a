"""What the app does per image, timed on its own code: classify, a cached rerun, explanations.

Every section uses a full-size (224 px) ResNet50 with random weights, saved and loaded the
way the app loads a model: speed does not depend on the weights.
"""
from __future__ import annotations

import time

import numpy as np

from benchmarks.common import best_of, full_size_classifier, milliseconds, sample_bytes, verdict

CLASSIFY_RATIO_GOAL = 1.2  # The app's classify path / the compiled forward passes it runs.
CACHED_RERUN_GOAL_SECONDS = 0.2
EXPLAIN_RATIO_GOAL = 1.5  # Grad-CAM and Grad-CAM++ / one compiled forward pass.
SCORE_CAM_GOAL_SECONDS = 1.5
SMOOTHGRAD_GOAL_SECONDS = 3.0


def interleaved_medians(functions: dict, repeats: int = 15, warmup: int = 2) -> dict[str, float]:
    """Median seconds of each function, timed in turn round by round.

    Taking the rounds in turn spreads a busy moment of a shared machine over every figure
    instead of landing on one of the two sides of a ratio.
    """
    for _ in range(warmup):
        for function in functions.values():
            function()
    times: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
    return {name: float(np.median(values)) for name, values in times.items()}


def bench_classify(results: dict) -> None:
    """`analyze_cell` (preprocess, forward passes, scope check) against the compiled passes inside it.

    With TTA (the app's setting) the model sees the 8 dihedral views in one batch, so the
    reference is one batch of 8 through the same compiled pass; without TTA, a batch of 1.
    Decoding is timed on its own: the app caches it separately.
    """
    from core.imaging.decode import load_image
    from core.imaging.preprocess import model_input_for
    from core.model.analysis import analyze_cell
    from core.model.inference import dihedral_views

    classifier = full_size_classifier()
    data = sample_bytes()
    image_rgb = load_image(data).image_rgb
    model_input = model_input_for(image_rgb, classifier.image_size)  # (224, 224, 3) uint8 RGB
    views = dihedral_views(model_input)  # (8, 224, 224, 3)
    seconds = interleaved_medians({
        "pass_1": lambda: classifier.probabilities(model_input[None]),
        "pass_8": lambda: classifier.probabilities(views),
        "analyze_tta": lambda: analyze_cell(classifier, image_rgb, with_tta=True),
        "analyze_plain": lambda: analyze_cell(classifier, image_rgb, with_tta=False),
    })
    tta_ratio = seconds["analyze_tta"] / seconds["pass_8"]
    plain_ratio = seconds["analyze_plain"] / seconds["pass_1"]
    batch = np.random.default_rng(0).integers(0, 255, (32, 224, 224, 3), dtype=np.uint8)
    results["classify"] = {
        "decode_ms": milliseconds(best_of(lambda: load_image(data), repeats=15)),
        "analyze_cell_tta_ms": milliseconds(seconds["analyze_tta"]),
        "compiled_pass_batch_of_8_ms": milliseconds(seconds["pass_8"]),
        "tta_ratio": round(tta_ratio, 3), "tta_ratio_goal": f"<= {CLASSIFY_RATIO_GOAL} ({verdict(tta_ratio, CLASSIFY_RATIO_GOAL)})",
        "analyze_cell_no_tta_ms": milliseconds(seconds["analyze_plain"]),
        "compiled_pass_batch_of_1_ms": milliseconds(seconds["pass_1"]),
        "no_tta_ratio": round(plain_ratio, 3), "no_tta_ratio_goal": f"<= {CLASSIFY_RATIO_GOAL} ({verdict(plain_ratio, CLASSIFY_RATIO_GOAL)})",
        "preprocess_images_per_second": round(1 / best_of(lambda: model_input_for(image_rgb), repeats=50), 1),
        "batch32_images_per_second": round(32 / best_of(lambda: classifier.probabilities(batch), repeats=3, warmup=1), 1),
    }


def bench_app(results: dict) -> None:
    """The Classify page's per-file function, `process_upload`, on a new image and on the same image again.

    Runs outside a Streamlit server: `st.cache_data` then keeps its entries in this process's
    memory, as the app's caches do (they are not persisted). Counting `analyze_cell` calls
    shows that the rerun was answered from the cache.
    """
    import core.model.analysis as analysis
    from ui.classify_widgets import process_upload
    from streamlit.logger import set_log_level

    set_log_level("error")  # Streamlit sets each of its loggers' levels: this quiets "No runtime found".
    calls = []
    original = analysis.analyze_cell
    analysis.analyze_cell = lambda *args, **kwargs: calls.append(1) or original(*args, **kwargs)
    try:
        classifier = full_size_classifier()
        data = sample_bytes()
        start = time.perf_counter()
        outcome = process_upload("sample.bmp", data, classifier)
        first = time.perf_counter() - start
        rerun = best_of(lambda: process_upload("sample.bmp", data, classifier), repeats=7, warmup=0)
    finally:
        analysis.analyze_cell = original
    assert outcome.error is None, outcome.error
    results["app"] = {
        "upload_to_answer_seconds": round(first, 3),
        "cached_rerun_seconds": round(rerun, 4),
        "cached_rerun_goal": f"< {CACHED_RERUN_GOAL_SECONDS} s ({verdict(rerun, CACHED_RERUN_GOAL_SECONDS)})",
        "analyze_cell_calls_for_8_runs": len(calls),
    }


def bench_explain(results: dict) -> None:
    """Seconds per explanation method at 224 px, and Grad-CAM's ratio to a forward pass."""
    from core.explain.explainer import Explainer, benchmark_methods

    classifier = full_size_classifier()
    explainer = Explainer(classifier.loaded.model, classifier.lock)
    model_input = np.random.default_rng(0).integers(0, 255, (224, 224, 3), dtype=np.uint8)
    seconds = benchmark_methods(explainer, model_input, repeats=3)
    forward = best_of(lambda: classifier.probabilities(model_input[None]), repeats=15)
    explain = {method: round(value, 3) for method, value in seconds.items()}
    explain["forward_pass_ms"] = milliseconds(forward)
    for method in ("gradcam", "gradcam++"):
        if method in seconds:
            ratio = seconds[method] / forward
            explain[f"{method}_to_forward_ratio"] = f"{ratio:.2f} (goal <= {EXPLAIN_RATIO_GOAL}: {verdict(ratio, EXPLAIN_RATIO_GOAL)})"
    for method, goal in (("scorecam", SCORE_CAM_GOAL_SECONDS), ("smoothgrad", SMOOTHGRAD_GOAL_SECONDS)):
        if method in seconds:
            explain[f"{method}_goal"] = f"<= {goal} s ({verdict(seconds[method], goal)})"
    results["explain"] = explain
