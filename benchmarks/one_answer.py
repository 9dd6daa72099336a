"""What the one decision rule does on a labelled set: coverage, refer rate and its reasons, answered accuracy.

    python benchmarks/one_answer.py --model models/leukemia_resnet50.keras --data-dir data/demo/C-NMC_Leukemia

Runs the external set (C-NMC's labelled validation folder) through `core.predict`'s path
(`core.model.answering.answer_cells`, float32) at each error rate and prints, as JSON:
- coverage per class: the share of cells whose prediction set holds their class (the guarantee is >= 1 - alpha);
- refer rate, and the share referred for each reason (a cell may have several);
- accuracy of the cells answered, and how many of them there are;
- how many cells the previous rule (the threshold's label unless referred) would have answered with a
  class outside their prediction set.
These are measurements of the model on that set; for the demo model they describe synthetic cells only.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
if not __package__:
    sys.path[0] = str(Path(__file__).resolve().parents[1])

ERROR_RATES = (0.01, 0.05, 0.1)


def rule_figures(assessments, truths) -> dict:
    """Coverage per class, refer rate and reasons, answered accuracy, answers outside the set under the old rule."""
    from core.data import labels

    cells = len(assessments)
    referred = [found for found in assessments if found.answer == labels.REFER]
    answered = [(found, truth) for found, truth in zip(assessments, truths) if found.answer != labels.REFER]
    reasons = Counter(reason for found in referred for reason in found.refer_reasons)
    coverage = {label: round(sum(truth in (found.prediction_set or ()) for found, truth in zip(assessments, truths) if truth == label)
                             / max(1, truths.count(label)), 4) for label in labels.LABELS}
    old_outside = sum(1 for found in assessments if not found.out_of_scope and found.conformal_decision != labels.REFER
                      and found.prediction_set is not None and found.label not in found.prediction_set)
    return {"cells": cells, "coverage": coverage, "refer_rate": round(len(referred) / cells, 4),
            "referred_for": {reason: round(count / cells, 4) for reason, count in sorted(reasons.items())},
            "answered": len(answered),
            "answered_accuracy": round(sum(found.answer == truth for found, truth in answered) / len(answered), 4) if answered else None,
            "old_rule_answers_outside_the_set": old_outside}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="the .keras model")
    parser.add_argument("--data-dir", required=True, help="the C-NMC_Leukemia folder whose labelled validation folder is the external set")
    args = parser.parse_args(argv)
    from core.cli.predict import classify_files
    from core.data.index import index_dataset
    from core.data.splits import external_test_set
    from core.model.inference import Classifier
    from core.model.store import load_classifier

    classifier = Classifier(load_classifier(args.model))
    records = external_test_set(index_dataset(args.data_dir))
    paths, truths = [Path(record.path) for record in records], [record.label for record in records]
    figures = {"model": args.model, "is_demo": bool(classifier.loaded.metadata.get("is_demo")), "by_error_rate": {}}
    for error_rate in ERROR_RATES:
        results = [result for start in range(0, len(paths), 64)
                   for result in classify_files(classifier, paths[start : start + 64], error_rate=error_rate)]
        kept = [(result.assessment, truth) for result, truth in zip(results, truths) if result.assessment is not None]
        figures["by_error_rate"][str(error_rate)] = rule_figures([found for found, _ in kept], [truth for _, truth in kept])
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
