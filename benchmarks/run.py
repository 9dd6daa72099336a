"""Measure the project's speed and memory targets in one run and print each figure beside its goal.

    python benchmarks/run.py                 # everything but the demo training run and ray_scoring (several minutes on 2 cores)
    python benchmarks/run.py --demo          # also time `train.py --demo` end to end (about 5 more minutes)
    python benchmarks/run.py --only classify app

Sections and goals:
  classify  app's `analyze_cell` (preprocess, 8-view TTA, scope check) / one batch of 8 through the
            compiled pass, and without TTA / one compiled pass (<= 1.2 each)
  app       the Classify page's `process_upload` on the same image again, from the cache (< 0.2 s)
  decode    a 30000 x 30000 PNG bomb and a 2 GiB file refused (< 1 s, peak < 300 MiB)
  index     the real 15,114-path C-NMC layout indexed, and the Explore page's summaries (< 1 s each)
  pipeline  tf.data memory increase over a child pulling no data, 4x data / 1x (<= 1.15)
  training  a short training run's peak memory in its own process; training throughput
  explain   Grad-CAM and Grad-CAM++ / forward pass (<= 1.5), Score-CAM (<= 1.5 s), SmoothGrad (<= 3 s)
  neighbours one query of a 10,000-cell index at D = 2048: six nearest cells and the OOD score (<= 20 ms);
            features + P(all) / P(all) alone on a TTA batch of 8
  ood_query one query for 300 cells (their similar cells from a 10,000-cell index at D = 2048, and their stain and
            texture OOD scores) (<= 0.2 s); the statistics of one 224 px cell
  ood_scores the OOD study (benchmarks/ood_scores.py) on $LEUKEMIA_OOD_MODEL / $LEUKEMIA_OOD_DATA: AUROC and
            FPR95 of each candidate score per shift, and the external set's false-flag rate (<= 5%)
  patient   the Patient page's analysis of 300 cells at 224 px, batched (<= 10 s), per cell, against one by one
  faithfulness  one heatmap's deletion and insertion curves, 16 steps each in one batch, at 224 px (<= 1 s)
  explain_cli `python -m core.explain --method gradcam` on 100 images, files written: per extra image /
            one compiled forward pass (<= 1.5)
  uploads   server memory after 100 distinct uploads decoding to 6000 x 6000 px, through the Classify page's
            `process_upload` with a 224 px ResNet50 loaded (resident and peak <= 2.5 GB)
  sessions  a real server's peak memory while 30 browser sessions at once each upload a distinct PNG decoding
            to 6000 x 6000 px, with a 224 px ResNet50 (<= 2.5 GB; every session answered or told why not)
  serving   50 sessions at once, one cell each, through `python -m core.serve` (Ray Serve, HTTP clients in threads)
            against the same requests one at a time in process: requests per second, p50/p95 latency
  hostile   `python -m core.predict` on each hostile model file (bad sidecar fields, 12,000 px input,
            300 MB sidecar, padded config.json, SHA-256 mismatch, Markdown class name): exit 2, one
            line on stderr, no traceback, peak < 1.8 GB
  slider    the Model card's threshold slider in headless Chromium: one move to the numbers it gives (<= 0.2 s)
  fields    white cells found in the 200 BCCD smear fields against their WBC boxes, IoU >= 0.5, greedy
            one-to-one (recall >= 0.95, precision >= 0.90), time per 640x480 field (<= 0.5 s)
  stain     real C-NMC cells and BCCD field cells answered as they are and moved to the model's training stain:
            stain distance, OOD score, answers changed (no accuracy: neither set can judge the model)
  ray_scoring `python -m core.predict` on 2,000 cells, `--engine ray` (a local instance, then a simulated two-node
            cluster) against the local command line (cells/s ratio >= 0.85), and the same answers from both
            on the demo data's and the real cells (benchmarks/ray_scoring.py; needs requirements-ray.txt)
  demo      `train.py --demo` (<= 5 min)
Figures are for the machine the script runs on, at its load at the time: the load average is
printed with them, and the README records where its figures came from.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# The project root replaces this script's folder on the path: the sections are imported as
# `benchmarks.*`, and a module in benchmarks/ can never shadow a top-level one.
if not __package__:
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from benchmarks import (  # noqa: E402
    app, explanations, fields, hostile, inputs, model_card, neighbours, ood_scores, patient, ray_scoring, serving, sessions,
    stain, training, uploads,
)

BENCHES = {
    "classify": app.bench_classify, "app": app.bench_app, "decode": inputs.bench_decode, "index": inputs.bench_index,
    "pipeline": training.bench_pipeline, "training": training.bench_training, "explain": app.bench_explain,
    "neighbours": neighbours.bench_neighbours, "ood_query": neighbours.bench_ood_query, "ood_scores": ood_scores.bench_ood_scores, "patient": patient.bench_patient,
    "faithfulness": explanations.bench_faithfulness, "explain_cli": explanations.bench_explain_cli,
    "uploads": uploads.bench_uploads, "sessions": sessions.bench_sessions, "serving": serving.bench_serving, "slider": model_card.bench_slider, "hostile": hostile.bench_hostile,
    "fields": fields.bench_fields, "stain": stain.bench_stain, "ray_scoring": ray_scoring.bench_ray_scoring, "demo": training.bench_demo,
}


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, as `uptime` prints them."""
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def machine() -> dict:
    """CPU model (from /proc/cpuinfo where there is one), core count and Python version."""
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")]
        model = names[0] if names else model
    return {"cpu": model, "cpus": os.cpu_count(), "python": platform.python_version()}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", choices=list(BENCHES), help="run only these sections")
    parser.add_argument("--demo", action="store_true", help="also time the demo training run")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # ray_scoring (about 20 minutes on 2 cores) runs only when named in --only.
    chosen = args.only or [name for name in BENCHES if name != "ray_scoring" and (name != "demo" or args.demo)]
    results: dict = {"machine": machine()}
    print(json.dumps(results["machine"]), flush=True)
    for name in chosen:
        before = load_average()
        start = time.perf_counter()
        BENCHES[name](results)
        results[name]["load_average"] = {"before": before, "after": load_average()}
        print(f"## {name} ({time.perf_counter() - start:.0f} s)\n" + json.dumps(results[name], indent=2), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
