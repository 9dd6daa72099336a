"""Archive scoring on Ray Data against the local command line, side by side, and whether their answers are identical.

    python benchmarks/ray_scoring.py --model /work/demo/leukemia_resnet50.keras --demo-data data/demo/C-NMC_Leukemia
    python benchmarks/run.py --only ray_scoring      # the same, with the default model and data

Prints, as JSON, one section per measurement, each with the load average before and after it:
- throughput: `python -m core.predict` on --cells synthetic 450 px cells (generated into a temporary
  folder), as the local command line and with `--engine ray` on a local Ray instance, both as fresh
  processes, end to end (start-up and model loading included), in --repeats alternated pairs (local,
  then Ray); cells/s of each, each pair's ratio Ray / local and their median (goal >= 0.85). One pair
  on a 2-core machine moves by 10% or more with what else the machine does, so the goal is judged on
  the median;
- two_nodes: the same Ray run on a simulated two-node cluster on this machine (`ray.cluster_utils.Cluster`:
  head and one worker node, one CPU each), against the last pair's local figure;
- identical_answers: the CSV rows of both engines on the demo data's cells and on the shared real cells:
  how many rows, how many whose answer (and label, prediction set, flags, error) differ, and the largest
  |dP(ALL)| (goal: no answer differs).
Figures are for the machine it runs on, at its load at the time; the README says where its figures came from.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
if not __package__:
    sys.path[0] = str(Path(__file__).resolve().parents[1])

ROOT = Path(__file__).resolve().parents[1]
REAL_CELLS = ROOT.parent / "shared" / "data" / "real_cells"
DEMO_DATA = ROOT / "data" / "demo" / "C-NMC_Leukemia"
RATIO_GOAL = 0.85
SAME_COLUMNS = ("label", "answer", "conformal_set", "out_of_distribution", "flags", "error", "field", "box", "stain")


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, as `uptime` prints them."""
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def synthetic_cells(folder: Path, count: int) -> Path:
    """A folder of links to `count` distinct synthetic 450 px cells (training folds of a generated C-NMC tree)."""
    from core.data.synthetic import generate_dataset

    root = generate_dataset(folder / "generated", subjects=max(4, count // 40 + 1), images_per_subject=48)
    cells = sorted((root / "training_data").rglob("*.bmp"))
    if len(cells) < count:
        raise RuntimeError(f"generated {len(cells)} cells, fewer than the {count} asked for")
    chosen = folder / "cells"
    chosen.mkdir()
    for number, cell in enumerate(cells[:count]):
        (chosen / f"{number:05d}_{cell.name}").symlink_to(cell)
    return chosen


def timed_predict(model: Path, inputs: list[Path], output_csv: Path, *flags: str) -> dict:
    """`python -m core.predict` in a fresh process: its wall seconds, exit status and the CSV's row count."""
    command = [sys.executable, "-m", "core.predict", "--model", str(model), *map(str, inputs), "--csv", str(output_csv), *flags]
    before, start = load_average(), time.perf_counter()
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=3600)
    seconds = time.perf_counter() - start
    if completed.returncode not in (0, 1) or not output_csv.is_file():
        raise RuntimeError(f"{' '.join(command[3:6])}... failed ({completed.returncode}):\n{completed.stderr[-2000:]}")
    rows = sum(1 for _ in csv.DictReader(output_csv.open()))
    return {"seconds": round(seconds, 1), "rows": rows, "cells_per_s": round(rows / seconds, 2), "exit": completed.returncode,
            "load_average": {"before": before, "after": load_average()}}


def compared(local_csv: Path, ray_csv: Path, prefix: str = "") -> dict:
    """Rows of both CSVs whose file starts with `prefix`: how many, how many differ in a SAME_COLUMNS cell, max |dP(ALL)|
    and max |d OOD score|, and the local answers' counts."""
    local = {row["file"]: row for row in csv.DictReader(local_csv.open()) if row["file"].startswith(prefix)}
    ray = {row["file"]: row for row in csv.DictReader(ray_csv.open()) if row["file"].startswith(prefix)}
    shared = sorted(local.keys() & ray.keys())
    differ = [name for name in shared if any(local[name][column] != ray[name][column] for column in SAME_COLUMNS)]

    def largest_delta(column: str) -> float:
        return max((abs(float(local[name][column]) - float(ray[name][column]))
                    for name in shared if local[name][column] and ray[name][column]), default=0.0)

    return {"rows": len(shared), "only_in_one": len(local.keys() ^ ray.keys()), "answers_differ": len(differ),
            "max_abs_delta_p_all": largest_delta("probability_all"), "max_abs_delta_ood_score": largest_delta("ood_score"),
            "answers": {answer: sum(local[name]["answer"] == answer for name in shared)
                                                                        for answer in ("all", "hem", "refer", "")}}


def two_node_run(model: Path, cells: Path, output_csv: Path) -> dict:
    """The Ray run on a simulated cluster of two nodes of one CPU each, started and shut down here."""
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    try:
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        return timed_predict(model, [cells], output_csv, "--engine", "ray", "--ray-address", cluster.address)
    finally:
        cluster.shutdown()


def throughput(model: Path, cells: Path, folder: Path, repeats: int) -> dict:
    """`repeats` alternated pairs of whole commands on `cells`, local then Ray: each pair's figures and ratio,
    the median ratio and whether it meets RATIO_GOAL, and the last pair's answers compared."""
    pairs = []
    for number in range(1, repeats + 1):
        local = timed_predict(model, [cells], folder / "local.csv")
        ray_local = timed_predict(model, [cells], folder / "ray.csv", "--engine", "ray")
        pairs.append({"pair": number, "local": local, "ray_local_instance": ray_local,
                      "ratio": round(local["seconds"] / ray_local["seconds"], 3)})
        print(json.dumps(pairs[-1]), flush=True)
    ratio = statistics.median(pair["ratio"] for pair in pairs)
    return {"cells": len(list(cells.iterdir())), "pairs": pairs,
            "ratios": [pair["ratio"] for pair in pairs], "median_ratio": round(ratio, 3),
            "goal": f"median >= {RATIO_GOAL} ({'met' if ratio >= RATIO_GOAL else 'missed'})",
            "answers": compared(folder / "local.csv", folder / "ray.csv")}


def measure(model: Path, cells_count: int, demo_data: Path, real_cells: Path, repeats: int = 3) -> dict:
    """Every section of this benchmark, in one temporary folder removed afterwards."""
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="ray-scoring-") as scratch:
        folder = Path(scratch)
        cells = synthetic_cells(folder, cells_count)
        results["throughput"] = throughput(model, cells, folder, repeats)
        print("## throughput\n" + json.dumps(results["throughput"], indent=2), flush=True)
        local = results["throughput"]["pairs"][-1]["local"]
        two = two_node_run(model, cells, folder / "two_nodes.csv")
        results["two_nodes"] = {**two, "ratio": round(local["seconds"] / two["seconds"], 3),
                                "answers": compared(folder / "local.csv", folder / "two_nodes.csv")}
        print("## two_nodes\n" + json.dumps(results["two_nodes"], indent=2), flush=True)
        inputs = [demo_data, real_cells]
        timed_predict(model, inputs, folder / "local_known.csv")
        timed_predict(model, inputs, folder / "ray_known.csv", "--engine", "ray")
        results["identical_answers"] = {name: compared(folder / "local_known.csv", folder / "ray_known.csv", str(path))
                                        for name, path in (("demo_cells", demo_data), ("real_cells", real_cells))}
        print("## identical_answers\n" + json.dumps(results["identical_answers"], indent=2), flush=True)
    return results


def bench_ray_scoring(results: dict) -> None:
    """`benchmarks/run.py`'s section: the default model (LEUKEMIA_MODEL, else models/), 2,000 cells, the demo data."""
    from core import config

    results["ray_scoring"] = measure(config.default_model_path(), 2000, DEMO_DATA, REAL_CELLS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="the .keras model (the demo model: python train.py --demo)")
    parser.add_argument("--cells", type=int, default=2000, help="synthetic cells for the throughput runs (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=3, help="alternated local/Ray pairs for the throughput (default: %(default)s)")
    parser.add_argument("--demo-data", type=Path, default=DEMO_DATA, help="the demo's C-NMC_Leukemia folder (default: %(default)s)")
    parser.add_argument("--real-cells", type=Path, default=REAL_CELLS, help="the shared real cells (default: %(default)s)")
    args = parser.parse_args(argv)
    print(json.dumps({"cpus": os.cpu_count(), "load_average": load_average(), "model": str(args.model)}), flush=True)
    measure(args.model, args.cells, args.demo_data, args.real_cells, args.repeats)
    print(json.dumps({"load_average_after": load_average()}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
