"""Serving many users: 50 sessions at once, each asking for one cell, through the inference service and in process.

    python benchmarks/serving.py --model MODEL [--sessions 50] [--replicas 1]
    python benchmarks/run.py --only serving      # the model at $LEUKEMIA_MODEL (or the default path)

Each session asks for one distinct cell (a synthetic 450 x 450 C-NMC-like cell, half ALL, half
Healthy, prepared before timing) the way the Patient page asks for its batches:
`answer_cells(classifier, [cell], fast=True)`, the fast bfloat16 pass (float32 where the CPU has
no native bfloat16) and its float32 recheck near a boundary, then the assessment.
- **service**: `python -m core.serve`'s application on a local Ray instance (`--replicas`), and
  `sessions` HTTP clients in threads (`core.model.remote`), released together; each request's
  latency is from the release to its answer, and requests per second is sessions / wall time.
- **in process**: the same requests answered one at a time by one in-process `Classifier` (what the
  app does with one model shared under its lock): each request's own time, and the time it would
  wait for its answer had all arrived at once (the sum of those before it and its own).
Both sides answer every cell the same way (counted). The load average is printed before and after.
"""
from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
import threading
import time
from pathlib import Path

import numpy as np

if not __package__:
    sys.path[0] = str(Path(__file__).resolve().parents[1])

SESSIONS = 50
ERROR_RATE = 0.05


def session_cells(count: int, image_size: int) -> list:
    """`count` distinct prepared cells (`core.imaging.prepare.PreparedCell`), alternately ALL and Healthy."""
    from core.data.synthetic import make_subject_style, render_cell
    from core.imaging.prepare import prepare_cell

    rng = np.random.default_rng(19)
    styles = {label: make_subject_style(rng, label) for label in ("all", "hem")}
    return [prepare_cell(render_cell(rng, label, styles[label]), image_size)
            for label in (("all", "hem")[n % 2] for n in range(count + 1))]


def percentiles(seconds: list[float]) -> tuple[float, float]:
    """(p50, p95) in milliseconds."""
    return float(np.percentile(seconds, 50) * 1000), float(np.percentile(seconds, 95) * 1000)


def in_process(model: Path, cells: list) -> tuple[dict, list]:
    """The requests one at a time through one in-process Classifier: figures, and the (analysis, assessment) pairs."""
    from core.model.answering import answer_cells
    from core.model.inference import Classifier
    from core.model.store import load_classifier
    from core.serve.batching import warm_passes

    classifier = Classifier(load_classifier(model))
    warm_passes(classifier)  # as the service's replicas do when they start
    answer_cells(classifier, cells[-1:], ERROR_RATE, fast=True)  # the last cell is spare: a first request, untimed
    own, answers, start = [], [], time.perf_counter()
    for cell in cells[:-1]:
        began = time.perf_counter()
        answers.append(answer_cells(classifier, [cell], ERROR_RATE, fast=True)[0])
        own.append(time.perf_counter() - began)
    wall = time.perf_counter() - start
    waited = list(np.cumsum(own))
    return {"requests_per_s": len(own) / wall, "own_ms": percentiles(own), "waited_ms": percentiles(waited),
            "wall_s": wall, "precision": classifier.batch_precision}, answers


def through_service(model: Path, cells: list, replicas: int) -> tuple[dict, list]:
    """The requests from one thread each, released at once, through the service on a local Ray instance."""
    import ray
    from ray import serve

    from core.model.answering import answer_cells
    from core.model.remote import RemoteClassifier
    from core.serve.command import serve_model, worker_environment

    ray.init(address="local", runtime_env=worker_environment(), logging_level=logging.ERROR, log_to_driver=False)
    try:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        remote = RemoteClassifier.connect(serve_model(model, replicas, "127.0.0.1", port), model)
        answer_cells(remote, cells[-1:], ERROR_RATE, fast=True)  # warm
        sessions = cells[:-1]
        release, latency, answers = threading.Barrier(len(sessions) + 1), [0.0] * len(sessions), [None] * len(sessions)

        def session(position: int) -> None:
            release.wait()
            began = time.perf_counter()
            answers[position] = answer_cells(remote, [sessions[position]], ERROR_RATE, fast=True)[0]
            latency[position] = time.perf_counter() - began

        threads = [threading.Thread(target=session, args=(position,)) for position in range(len(sessions))]
        for thread in threads:
            thread.start()
        release.wait()
        start = time.perf_counter()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - start
        return {"requests_per_s": len(sessions) / wall, "latency_ms": percentiles(latency), "wall_s": wall,
                "precision": remote.batch_precision, "replicas": replicas}, answers
    finally:
        serve.shutdown()
        ray.shutdown()


def same_answers(first: list, second: list) -> int:
    """How many cells got the same answer, prediction set, refer reasons and OOD flag both ways."""
    def decision(pair):
        return pair[1].answer, pair[1].prediction_set, pair[1].refer_reasons, pair[1].ood_flag

    return sum(decision(a) == decision(b) for a, b in zip(first, second))


def run(model: Path, sessions: int = SESSIONS, replicas: int = 1) -> dict:
    """Both sides on the same `sessions` cells; the figures, the agreement and the load averages."""
    from core.model.store import read_sidecar

    size = int(read_sidecar(model)[0].get("image_size", 224))
    cells = session_cells(sessions, size)
    load = {"before": os.getloadavg()}
    local, local_answers = in_process(model, cells)
    load["between"] = os.getloadavg()
    served, served_answers = through_service(model, cells, replicas)
    load["after"] = os.getloadavg()
    return {"sessions": sessions, "service": served, "in_process": local, "same_answers": same_answers(local_answers, served_answers),
            "load_average_1_5_15": {when: [round(value, 2) for value in values] for when, values in load.items()}}


def table(result: dict) -> str:
    """The two sides side by side, as printed."""
    served, local = result["service"], result["in_process"]
    rows = [f"{result['sessions']} sessions, one cell each (answer_cells fast=True; service {served['precision']}, "
            f"in process {local['precision']}; {served['replicas']} replica(s))",
            f"{'':32}{'service (%d at once)' % result['sessions']:>24}{'in process, one at a time':>30}",
            f"{'requests per second':32}{served['requests_per_s']:>24.2f}{local['requests_per_s']:>30.2f}",
            f"{'p50 / p95 latency, ms':32}{'%.0f / %.0f' % tuple(served['latency_ms']):>24}"
            f"{'%.0f / %.0f' % tuple(local['own_ms']):>30}",
            f"{'p50 / p95 wait if all at once':32}{'(as above)':>24}{'%.0f / %.0f' % tuple(local['waited_ms']):>30}",
            f"{'wall time, s':32}{served['wall_s']:>24.1f}{local['wall_s']:>30.1f}",
            f"same answer, set, reasons and OOD flag: {result['same_answers']} of {result['sessions']}",
            f"load average (1, 5, 15 min): {result['load_average_1_5_15']}"]
    return "\n".join(rows)


def bench_serving(results: dict) -> None:
    """benchmarks/run.py's section: the model at $LEUKEMIA_MODEL (or the default path), one replica."""
    from core import config

    model = config.default_model_path()
    if not model.is_file():
        results["serving"] = {"skipped": f"no model at {model}: set LEUKEMIA_MODEL or run `python train.py --demo`"}
        return
    results["serving"] = run(model)
    print(table(results["serving"]), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="the .keras model (its sidecar and index beside it)")
    parser.add_argument("--sessions", type=int, default=SESSIONS, help="simulated sessions, one cell each (default: 50)")
    parser.add_argument("--replicas", type=int, default=1, help="replicas of the service (default: 1)")
    args = parser.parse_args(argv)
    print(table(run(args.model, args.sessions, args.replicas)), flush=True)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    raise SystemExit(main())
