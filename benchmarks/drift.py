"""How far the fast and batched passes move a cell's values from the cell run alone in float32.

    python benchmarks/drift.py --model models/leukemia_resnet50.keras DIR_OR_IMAGE...

The margins of `core.model.answering` (`logit_margin`: for bfloat16, twice the drift measured in the band of
the boundary's |log-odds|; for float32 batches, a base and a relative log-odds margin; and an OOD-score
margin per way of computing) must stay above what this prints: a value within its margin of a decision
boundary is run again alone, so only a drift larger than the margin could change an answer.
Printed as JSON: per way of computing (bfloat16 batches of 32, float32 batches of 32, float32 views
of 8), the largest change in log-odds of P(all), in the model's OOD score and in the k-NN distance
(the older OOD score, whose margins `answering.OOD_MARGINS` hold), and the margins beside them.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
if not __package__:
    sys.path[0] = str(Path(__file__).resolve().parents[1])


LOGIT_BINS = (1, 2, 4, 8, 17)  # |log-odds| of the cell alone; 16.1 is P(all) clipped at 1e-7


def model_inputs(paths: list[str], image_size: int):
    """((N, S, S, 3) uint8 RGB model inputs, their N stain and texture statistics) of every readable image (folders searched)."""
    import numpy as np

    from core.cli.predict import expand_inputs
    from core.errors import LeukemiaAppError
    from core.imaging.decode import load_image
    from core.imaging.preprocess import preprocess_cell
    from core.imaging.statistics import statistics_of

    inputs, statistics = [], []
    for path in expand_inputs(paths):
        try:
            stages = preprocess_cell(load_image(path).image_rgb, image_size)
        except LeukemiaAppError:
            continue
        inputs.append(stages.model_input)
        statistics.append(statistics_of(stages))
    return np.stack(inputs), statistics


def ood_scores(classifier, features, statistics):
    """((N,) OOD scores as the model computes them, (N,) k-NN distances), each None without an index.

    The model's score is `ModelEvidence.ood_scores`': the stain and texture distance where its index has
    the statistics (computed from the model inputs, so the same on every path), else the k-NN distance.
    """
    import numpy as np

    if features is None or classifier.evidence.index is None:
        return None, None
    neighbour = [score for _, score in classifier.evidence.index.query_many(features)]
    return np.asarray(classifier.evidence.ood_scores(statistics, neighbour), float), np.asarray(neighbour)


def drift(classifier, reference, statistics, features, probabilities) -> dict:
    """The largest |change| in log-odds, in the model's OOD score and in the k-NN distance against the reference."""
    import numpy as np

    from core.model.calibration import logit

    reference_logits, reference_ood, reference_neighbour = reference
    scores, neighbour = ood_scores(classifier, features, statistics)
    change = np.abs(np.asarray(logit(probabilities)) - reference_logits)
    size = np.abs(reference_logits)
    by_size = {f"|log-odds| < {bound}": float(change[size < bound].max(initial=0.0)) for bound in LOGIT_BINS}
    return {"max_logit_change": float(change.max()), "max_logit_change_by_size": by_size,
            "max_relative_logit_change_beyond_1": float((change[size >= 1] / size[size >= 1]).max(initial=0.0)),
            "max_ood_change": None if scores is None else float(np.max(np.abs(scores - reference_ood))),
            "max_knn_distance_change": None if neighbour is None else float(np.max(np.abs(neighbour - reference_neighbour)))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("inputs", nargs="+", help="images or folders of images")
    parser.add_argument("--model", required=True, help="the .keras model (with its index of known cells)")
    args = parser.parse_args(argv)
    os.environ["LEUKEMIA_BATCH_PRECISION"] = "bfloat16"
    import numpy as np

    from core.model import answering
    from core.model.calibration import logit
    from core.model.inference import Classifier, dihedral_views
    from core.model.store import load_classifier

    classifier = Classifier(load_classifier(args.model))
    inputs, statistics = model_inputs(args.inputs, classifier.image_size)
    exact_features, exact = classifier.exact_values(inputs)
    reference = (np.asarray(logit(exact)), *ood_scores(classifier, exact_features, statistics))
    views = [classifier.values(dihedral_views(model_input)) for model_input in inputs]
    view_features = None if exact_features is None else np.stack([features[0] for features, _ in views])
    batched_margins = {"log_odds": [answering.BATCHED_LOGIT_MARGIN, answering.BATCHED_RELATIVE_MARGIN], "ood": answering.BATCHED_OOD_MARGIN}
    figures = {
        "cells": int(len(inputs)),
        "ood_score": "stain and texture distance" if classifier.evidence.ood_statistics is not None else "k-NN distance",
        "bfloat16_batches_of_32": {**drift(classifier, reference, statistics, *classifier.values(inputs, 32, fast=True)),
                                   "margins": {"log_odds_at_|boundary|": {f"{size:g}": round(answering.logit_margin(answering.FAST, size), 3)
                                                                          for size in (0, 1, 2, 4, 6, 8, 12, 16)},
                                               "ood": answering.FAST_OOD_MARGIN}},
        "float32_batches_of_32": {**drift(classifier, reference, statistics, *classifier.values(inputs, 32)),
                                  "margins": batched_margins},
        "folded_float32_batches_of_32": {**drift(classifier, reference, statistics, *classifier.folded_values(inputs, 32)),
                                         "margins": batched_margins},
        "float32_views_of_8": {**drift(classifier, reference, statistics, view_features,
                                       np.asarray([probabilities[0] for _, probabilities in views])),
                               "margins": batched_margins},
        "batch_precision": classifier.batch_precision,
    }
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
