"""The single-cell answer on Classify, timed on a trained model: before and after a change, with the same script.

    python benchmarks/classify_answer.py --model MODEL.keras [--real-cells DIR] [--cells 12] [--rounds 5]

Each round answers each cell once the way the Classify page does on a new upload: `analyze_cell`
(preprocessing, the 8 views in one float32 pass with the features, the scope check, and, where the
model's OOD score reads them, the cell's statistics) and `answer_analysis` (settle, the index query,
the OOD score, calibration, the one decision). Decoding is cached apart by the app and is not timed.
Prints the median milliseconds per cell over every round, and the load average before and after.
Uses only what the code had before the stain and texture score, so it runs on either version.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
if not __package__:
    sys.path[0] = str(Path(__file__).resolve().parents[1])

REAL_CELLS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real_cells"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--real-cells", type=Path, default=REAL_CELLS, help="folder of PNG cells (default: %(default)s)")
    parser.add_argument("--cells", type=int, default=12, help="real cells answered each round (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds after one untimed (default: %(default)s)")
    args = parser.parse_args(argv)
    from core.imaging.decode import load_image
    from core.model.analysis import analyze_cell
    from core.model.answering import answer_analysis
    from core.model.inference import Classifier
    from core.model.store import load_classifier

    classifier = Classifier(load_classifier(args.model))
    images = [load_image(path).image_rgb for path in sorted(args.real_cells.glob("*.png"))[: args.cells]]
    load_before, times = os.getloadavg(), []
    for round_number in range(args.rounds + 1):
        for image_rgb in images:
            started = time.perf_counter()
            answer_analysis(classifier, analyze_cell(classifier, image_rgb, with_tta=True))
            if round_number:
                times.append(time.perf_counter() - started)
    print(json.dumps({"model": args.model, "cells": len(images), "answers_timed": len(times),
                      "median_ms": round(1000 * statistics.median(times), 2),
                      "has_ood_statistics": getattr(classifier.evidence, "ood_statistics", None) is not None,
                      "load_average": {"before": [round(value, 2) for value in load_before],
                                       "after": [round(value, 2) for value in os.getloadavg()]}}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
