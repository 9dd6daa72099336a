"""Measure the project's speed and memory targets in one run and print the ratios.

    python benchmarks/run.py                 # everything but the demo training run (~3 min on 2 cores)
    python benchmarks/run.py --demo          # also time `train.py --demo` end to end (~5 min)
    python benchmarks/run.py --only classify explain

Targets (goal in brackets): single-image classify / one compiled forward pass (<= 1.2),
pipeline peak memory 4x / 1x dataset (<= 1.15), Grad-CAM and Grad-CAM++ / forward pass
(<= 1.5), Score-CAM (<= 1.5 s), SmoothGrad (<= 3 s), cached rerun of the app (<= 0.2 s).
Figures are for the machine the script runs on; the README records where they came from.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

SAMPLE = ROOT.parent / "shared" / "data" / "cnmc_sample_cell.bmp"
FILE_LIST = ROOT.parent / "shared" / "data" / "cnmc_file_list.txt"


def best_of(function: Callable[[], object], repeats: int = 7, warmup: int = 2) -> float:
    """Median seconds of `repeats` calls after `warmup` untimed calls."""
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def sample_bytes() -> bytes:
    """The real sample cell, or a synthetic one where shared/ is absent."""
    if SAMPLE.is_file():
        return SAMPLE.read_bytes()
    import cv2

    from core.data.synthetic import make_subject_style, render_cell

    rng = np.random.default_rng(0)
    image_rgb = render_cell(rng, "all", make_subject_style(rng, "all"))
    return cv2.imencode(".bmp", image_rgb[:, :, ::-1])[1].tobytes()


def tiny_classifier(image_size: int = 224):
    """A randomly initialised full-size classifier: speed does not depend on the weights."""
    from core.model.inference import Classifier
    from core.model.network import build_classifier
    from core.model.store import base_metadata, save_model, load_classifier

    path = Path(tempfile.mkdtemp()) / "bench.keras"
    save_model(build_classifier(image_size, weights=None), path, base_metadata(image_size))
    classifier = Classifier(load_classifier(path))
    classifier.warm_up()
    return classifier


def bench_classify(results: dict) -> None:
    """Decode + preprocess + predict for one image, against one compiled forward pass."""
    from core.imaging.decode import load_image
    from core.imaging.preprocess import model_input_for

    classifier = tiny_classifier()
    data = sample_bytes()
    one = np.zeros((1, 224, 224, 3), np.uint8)
    forward = best_of(lambda: classifier.probabilities(one), repeats=15)
    classify = best_of(lambda: classifier.classify(load_image(data).image_rgb), repeats=15)
    batch = np.random.default_rng(0).integers(0, 255, (32, 224, 224, 3), dtype=np.uint8)
    batch_seconds = best_of(lambda: classifier.probabilities(batch), repeats=3, warmup=1)
    image_rgb = load_image(data).image_rgb
    preprocess = best_of(lambda: model_input_for(image_rgb), repeats=50)
    results["classify"] = {
        "forward_pass_ms": round(forward * 1000, 1),
        "single_image_classify_ms": round(classify * 1000, 1),
        "classify_to_forward_ratio": round(classify / forward, 3),
        "batch32_images_per_second": round(32 / batch_seconds, 1),
        "preprocess_images_per_second": round(1 / preprocess, 1),
    }


def bench_index(results: dict) -> None:
    """Index a placeholder tree built from the real 15,114-path file list."""
    from core.data.index import index_dataset

    if not FILE_LIST.is_file():
        results["index"] = {"skipped": f"{FILE_LIST} not found"}
        return
    base = Path(tempfile.mkdtemp(dir="/dev/shm" if Path("/dev/shm").is_dir() else None))
    for line in FILE_LIST.read_text().split():
        path = base / line
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    seconds = best_of(lambda: index_dataset(base / "C-NMC_Leukemia"), repeats=5, warmup=1)
    results["index"] = {"files": len(FILE_LIST.read_text().split()), "index_seconds": round(seconds, 3)}


PIPELINE_CHILD = """
import sys, resource
from pathlib import Path
sys.path.insert(0, {root!r})
from core.data.index import index_dataset
from core.training.pipeline import make_dataset
records = [r for r in index_dataset({data!r}).records if r.label]
labels = [1 if r.label == "all" else 0 for r in records]
dataset = make_dataset([r.path for r in records], labels, 224, 32, training=True, cache_dir=Path({cache!r}))
for epoch in range(2):
    for batch in dataset:
        pass
print(len(records), open("/proc/self/status").read().split("VmHWM:")[1].split()[0])
"""


def pipeline_peak_kib(data: Path, cache: Path) -> tuple[int, int]:
    """(images, peak RSS in KiB) of a fresh process streaming two epochs of `data`."""
    code = PIPELINE_CHILD.format(root=str(ROOT), data=str(data), cache=str(cache))
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    return int(output[-2]), int(output[-1])


def bench_pipeline(results: dict) -> None:
    """Peak memory of two training epochs on a 1x and a 4x synthetic dataset."""
    from core.data.synthetic import generate_dataset

    work = Path(tempfile.mkdtemp())
    sizes = {}
    for scale in (1, 4):
        data = generate_dataset(work / f"x{scale}", subjects=12, images_per_subject=20 * scale, seed=scale)
        sizes[scale] = pipeline_peak_kib(data, work / f"cache{scale}")
    results["pipeline"] = {
        "images_1x": sizes[1][0], "peak_mib_1x": round(sizes[1][1] / 1024, 1),
        "images_4x": sizes[4][0], "peak_mib_4x": round(sizes[4][1] / 1024, 1),
        "growth_4x_over_1x": round(sizes[4][1] / sizes[1][1], 3),
    }


def bench_training(results: dict) -> None:
    """Training images per second at 224 px (random start) and the process's peak memory."""
    import keras

    from core.model.network import build_classifier

    model = build_classifier(224, weights=None)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy", jit_compile=False)
    images = np.random.default_rng(0).normal(0, 50, (16, 224, 224, 3)).astype(np.float32)
    labels = np.random.default_rng(1).integers(0, 2, (16, 1)).astype(np.float32)
    model.train_on_batch(images, labels)
    seconds = best_of(lambda: model.train_on_batch(images, labels), repeats=3, warmup=1)
    peak = int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])
    results["training"] = {"batch": 16, "images_per_second_224": round(16 / seconds, 2), "process_peak_mib": round(peak / 1024, 1)}


def bench_explain(results: dict) -> None:
    """Seconds per explanation method at 224 px, and Grad-CAM's ratio to a forward pass."""
    from core.explain.explainer import Explainer, benchmark_methods

    classifier = tiny_classifier()
    explainer = Explainer(classifier.loaded.model, classifier.lock)
    model_input = np.random.default_rng(0).integers(0, 255, (224, 224, 3), dtype=np.uint8)
    seconds = benchmark_methods(explainer, model_input, repeats=3)
    forward = best_of(lambda: classifier.probabilities(model_input[None]), repeats=15)
    results["explain"] = {method: round(value, 3) for method, value in seconds.items()}
    for method in ("gradcam", "gradcam++"):
        if method in seconds:
            results["explain"][f"{method}_to_forward_ratio"] = round(seconds[method] / forward, 2)


def bench_demo(results: dict) -> None:
    """`train.py --demo` end to end in a fresh process on fresh data: wall time and held-out AUC."""
    work = Path(tempfile.mkdtemp())
    start = time.perf_counter()
    subprocess.run([sys.executable, str(ROOT / "train.py"), "--demo", "--output", str(work / "demo.keras")],
                   cwd=work, check=True, capture_output=True, env={**os.environ, "LEUKEMIA_DEMO_DATA_ROOT": str(work / "data")})
    metadata = json.loads((work / "demo.json").read_text())
    results["demo"] = {"wall_seconds": round(time.perf_counter() - start, 1),
                       "validation_auc": metadata["evaluation"]["validation"]["roc_auc"],
                       "external_auc": metadata["evaluation"].get("external", {}).get("roc_auc")}


def bench_app(results: dict) -> None:
    """The Classify page's per-file work (decode, preprocess, 8-view TTA, scope) first and on a rerun.

    Runs the page's own `process_upload` outside a server (Streamlit's caches work in-process),
    with a full-size 224 px classifier.
    """
    import logging

    logging.getLogger("streamlit").setLevel(logging.ERROR)
    from ui.classify_widgets import process_upload

    classifier = tiny_classifier()
    data = sample_bytes()
    start = time.perf_counter()
    outcome = process_upload("sample.bmp", data, classifier)
    first = time.perf_counter() - start
    rerun = best_of(lambda: process_upload("sample.bmp", data, classifier), repeats=5, warmup=0)
    assert outcome.error is None, outcome.error
    results["app"] = {"upload_to_answer_seconds": round(first, 3), "cached_rerun_seconds": round(rerun, 4)}


BENCHES = {"classify": bench_classify, "app": bench_app, "index": bench_index, "pipeline": bench_pipeline, "training": bench_training,
           "explain": bench_explain, "demo": bench_demo}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHES), help="run only these sections")
    parser.add_argument("--demo", action="store_true", help="also time the demo training run")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    chosen = args.only or [name for name in BENCHES if name != "demo" or args.demo]
    results: dict = {"machine": {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine(), "python": platform.python_version()}}
    for name in chosen:
        start = time.perf_counter()
        BENCHES[name](results)
        print(f"## {name} ({time.perf_counter() - start:.0f} s)\n" + json.dumps(results.get(name), indent=2), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
