"""Training's memory and time: the input pipeline, a short training run, the demo recipe.

Every memory figure is a child process's own peak (see `benchmarks.common`). TensorFlow
alone takes about 800 MiB, which hides what the data adds, so the pipeline is reported as
the increase over a child that does everything except pull data.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import ROOT, best_of, run_child

PIPELINE_GROWTH_GOAL = 1.15  # Pipeline memory increase at 4x data / at 1x.
DEMO_GOAL_SECONDS = 300
# 1x is above the 512-element shuffle buffer (`core.training.pipeline.SHUFFLE_BUFFER`): below
# it the buffer itself grows with the data, which is the designed bound rather than a leak.
SUBJECTS = 12
IMAGES_PER_SUBJECT_1X = 48
PIPELINE_EPOCHS = 2  # The first fills the on-disk crop cache, the second reads it.

PIPELINE_CHILD = """
from core.data.index import index_dataset
from core.training.pipeline import make_dataset
data, cache, mode, epochs = sys.argv[1:5]
records = [r for r in index_dataset(data).records if r.label]
labels = [1 if r.label == "all" else 0 for r in records]
dataset = make_dataset([r.path for r in records], labels, 224, 32, training=True, cache_dir=Path(cache))
batches = 0
for epoch in range(int(epochs) if mode == "iterate" else 1):
    # "empty": the same process, iterator included, but take(0) pulls no image.
    for batch in (dataset if mode == "iterate" else dataset.take(0)):
        batches += 1
print(json.dumps({"images": len(records), "batches": batches, "peak_mib": peak_mib()}))
"""

TRAINING_CHILD = """
from core.training.options import TrainOptions
from core.training.run import train
after_imports = peak_mib()
work = Path(sys.argv[2])
options = TrainOptions(data_dir=Path(sys.argv[1]), weights="none", image_size=224, epochs=1, fine_tune_epochs=0,
                       batch_size=16, output=work / "bench.keras", cache_dir=work / "cache")
start = time.perf_counter()
result = train(options, log=lambda line: None)
print(json.dumps({"seconds": round(time.perf_counter() - start, 1), "peak_mib_after_imports": after_imports,
                  "peak_mib": peak_mib(), "tuning_auc": result.metadata["evaluation"]["tuning"].get("roc_auc")}))
"""


def pipeline_child(data: Path, cache: Path, mode: str) -> dict:
    """One child's figures; `mode` is "iterate" (PIPELINE_EPOCHS epochs) or "empty" (no image pulled)."""
    return run_child(PIPELINE_CHILD, str(data), str(cache), mode, str(PIPELINE_EPOCHS))


def bench_pipeline(results: dict) -> None:
    """Peak memory of `make_dataset` over 1x and 4x synthetic data, over the same child pulling no data."""
    from core.data.synthetic import generate_dataset

    work = Path(tempfile.mkdtemp())
    pipeline: dict = {"epochs": PIPELINE_EPOCHS}
    increases = {}
    for scale in (1, 4):
        data = generate_dataset(work / f"x{scale}", subjects=SUBJECTS, images_per_subject=IMAGES_PER_SUBJECT_1X * scale, seed=scale)
        empty = pipeline_child(data, work / f"empty{scale}", "empty")
        full = pipeline_child(data, work / f"cache{scale}", "iterate")
        increases[scale] = full["peak_mib"] - empty["peak_mib"]
        pipeline[f"{scale}x"] = {"images": full["images"], "batches": full["batches"], "empty_peak_mib": empty["peak_mib"],
                                 "iterated_peak_mib": full["peak_mib"], "increase_mib": round(increases[scale], 1)}
    shutil.rmtree(work)
    growth = increases[4] / increases[1]
    pipeline["increase_4x_over_1x"] = round(growth, 3)
    pipeline["goal"] = f"<= {PIPELINE_GROWTH_GOAL} ({'met' if growth <= PIPELINE_GROWTH_GOAL else 'MISSED'})"
    results["pipeline"] = pipeline


def bench_training(results: dict) -> None:
    """A short real training run (`core.training.run.train`, 224 px, batch 16, one epoch) in its own process,
    then training throughput from `train_on_batch` in this one."""
    from core.data.synthetic import generate_dataset

    work = Path(tempfile.mkdtemp())
    data = generate_dataset(work / "data", subjects=8, images_per_subject=8, seed=0)
    run = run_child(TRAINING_CHILD, str(data), str(work))
    shutil.rmtree(work)
    results["training"] = {"short_run": {"what": "train(), 224 px, batch 16, 1 epoch from random weights, evaluation and save", **run},
                           "images_per_second_224_batch_16": throughput()}


def throughput() -> float:
    """Training images per second at 224 px, batch 16, random start."""
    import keras

    from core.model.network import build_classifier

    model = build_classifier(224, weights=None)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy", jit_compile=False)
    images = np.random.default_rng(0).normal(0, 50, (16, 224, 224, 3)).astype(np.float32)
    labels = np.random.default_rng(1).integers(0, 2, (16, 1)).astype(np.float32)
    seconds = best_of(lambda: model.train_on_batch(images, labels), repeats=3, warmup=1)
    return round(16 / seconds, 2)


def bench_demo(results: dict) -> None:
    """`train.py --demo` end to end in a fresh process on fresh data: wall time and held-out AUC."""
    work = Path(tempfile.mkdtemp())
    start = time.perf_counter()
    subprocess.run([sys.executable, str(ROOT / "train.py"), "--demo", "--output", str(work / "demo.keras")],
                   cwd=work, check=True, capture_output=True, env={**os.environ, "LEUKEMIA_DEMO_DATA_ROOT": str(work / "data")})
    seconds = time.perf_counter() - start
    metadata = json.loads((work / "demo.json").read_text())
    shutil.rmtree(work)
    results["demo"] = {"wall_seconds": round(seconds, 1), "goal": f"<= {DEMO_GOAL_SECONDS} s ({'met' if seconds <= DEMO_GOAL_SECONDS else 'MISSED'})",
                       "tuning_auc": metadata["evaluation"]["tuning"]["roc_auc"],
                       "calibration_auc": metadata["evaluation"].get("calibration", {}).get("roc_auc"),
                       "external_auc": metadata["evaluation"].get("external", {}).get("roc_auc")}
