"""The whole per-image assessment on a trained model: its cost, and what it says about the real cells.

    python benchmarks/assessment.py --model MODEL.keras [--real-cells ../shared/data/real_cells] [--timed 20]

1. Cost: `analyze_cell` (preprocessing, 8-view TTA with the pooled features in the same pass, scope
   check) plus `assess` (calibration, conformal decision, the index query) per image, against one
   compiled forward pass of the same 8 views (goal <= 1.3x), median over `--timed` real cells.
2. What the app answers on every real cell: ALL, Healthy or refer, and why it refers
   (scope, out of distribution, conformal), at the sidecar's default error rate. Prints one JSON object.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

if not __package__:
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from benchmarks.common import ROOT  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--real-cells", default=str(ROOT.parent / "shared" / "data" / "real_cells"))
    parser.add_argument("--timed", type=int, default=20)
    args = parser.parse_args(argv)
    from core.imaging.decode import load_image
    from core.model.analysis import analyze_cell
    from core.model.assessment import assess
    from core.model.inference import Classifier, dihedral_views
    from core.model.store import load_classifier

    classifier = Classifier(load_classifier(args.model))
    files = sorted(path for path in Path(args.real_cells).iterdir() if path.suffix.lower() in (".png", ".bmp"))
    answers, reasons, ratios = Counter(), Counter(), []
    for number, path in enumerate(files):
        image_rgb = load_image(path).image_rgb
        started = time.perf_counter()
        analysis = analyze_cell(classifier, image_rgb)
        assessment = assess(analysis, classifier.loaded.metadata, None, classifier.evidence)
        whole = time.perf_counter() - started
        if number < args.timed:
            views = dihedral_views(analysis.stages.model_input)
            started = time.perf_counter()
            classifier.probabilities(views)
            ratios.append(whole / (time.perf_counter() - started))
        answers[assessment.answer] += 1
        reasons.update(name for name, applies in (("scope", bool(assessment.scope_reasons)), ("ood", bool(assessment.ood_flag)),
                                                  ("conformal", assessment.conformal_decision == "refer")) if applies)
    print(json.dumps({"cells": len(files), "answers": dict(answers), "refer_reasons": dict(reasons),
                      "whole_assessment_over_one_tta_pass_median": round(statistics.median(ratios), 3) if ratios else None,
                      "timed": len(ratios)}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
