"""Similar known cells: one query of a 10,000-cell index, and what the features cost the classify pass.

The index holds random unit vectors of ResNet50's width (2048): a query's cost depends on the
number of cells and their width, not on their values. The paired pass (features and P(all)) is
timed against `probabilities` alone on the app's TTA batch of 8, round by round.
"""
from __future__ import annotations

import numpy as np

from benchmarks.app import interleaved_medians
from benchmarks.common import best_of, full_size_classifier, milliseconds, sample_bytes, verdict

INDEXED_CELLS = 10_000
DIMENSIONS = 2048
QUERY_GOAL_SECONDS = 0.020  # nearest(k=6) and ood_score(k=10) together, for one image.
MANY_CELLS = 300  # the Patient page's batch
MANY_GOAL_SECONDS = 0.2  # one query of 300 cells: their similar cells and OOD scores


def random_index(cells: int = INDEXED_CELLS, dimensions: int = DIMENSIONS, seed: int = 0):
    """An EmbeddingIndex of `cells` random cells, three quarters of them training cells."""
    from core.model.embedding import EmbeddingIndex

    rng = np.random.default_rng(seed)
    sides = np.where(np.arange(cells) < cells * 3 // 4, "train", "validation")
    return EmbeddingIndex.build(rng.normal(size=(cells, dimensions)).astype(np.float32),
                                [f"training_data/fold_0/all/UID_{n}_1_1_all.bmp" for n in range(cells)],
                                ["all"] * cells, [f"S{n % 70}" for n in range(cells)], sides)


def bench_neighbours(results: dict) -> None:
    """Query time for one image (six neighbours and the OOD score), and the paired pass's cost."""
    from core.model.inference import dihedral_views

    index = random_index()
    query = np.random.default_rng(1).normal(size=DIMENSIONS).astype(np.float32)
    nearest = best_of(lambda: index.nearest(query, 6), repeats=51, warmup=3)
    ood = best_of(lambda: index.ood_score(query, 10), repeats=51, warmup=3)
    both = best_of(lambda: index.query(query, 6, 10), repeats=51, warmup=3)  # One product serves both.
    classifier = full_size_classifier()
    views = dihedral_views(np.random.default_rng(2).integers(0, 255, (224, 224, 3), dtype=np.uint8))
    seconds = interleaved_medians({
        "probabilities": lambda: classifier.probabilities(views),
        "features_and_probabilities": lambda: classifier.features_and_probabilities(views),
    })
    ratio = seconds["features_and_probabilities"] / seconds["probabilities"]
    results["neighbours"] = {
        "indexed_cells": INDEXED_CELLS, "dimensions": DIMENSIONS,
        "nearest_6_ms": milliseconds(nearest), "ood_score_k10_ms": milliseconds(ood),
        "query_nearest_6_and_ood_ms": milliseconds(both), "query_goal": f"<= {milliseconds(QUERY_GOAL_SECONDS)} ms ({verdict(both, QUERY_GOAL_SECONDS)})",
        "tta_batch_of_8_probabilities_ms": milliseconds(seconds["probabilities"]),
        "tta_batch_of_8_features_and_probabilities_ms": milliseconds(seconds["features_and_probabilities"]),
        "paired_pass_ratio": round(ratio, 3),
    }


def bench_ood_query(results: dict) -> None:
    """One query for 300 cells, `core.model.answering.neighbourhoods` itself, and their statistics' cost.

    The query: `query_many` of a 10,000-cell index (six nearest cells) and the stain and texture scores
    of the 300 cells (`ModelEvidence.ood_scores`); beside it, the same for a model with the older
    k-NN score (which also picks each cell's 10 nearest training cells). The statistics themselves are
    computed per cell during the analysis (`statistics_of`), from 224 px model inputs of the real sample cell.
    """
    from core.imaging.decode import load_image
    from core.imaging.preprocess import preprocess_cell
    from core.imaging.statistics import STATISTICS, statistics_of
    from core.model.analysis import CellAnalysis
    from core.model.answering import neighbourhoods
    from core.model.evidence import ModelEvidence
    from core.model.inference import Prediction
    from core.model.ood import StatisticsGaussian

    rng = np.random.default_rng(3)
    index = random_index()
    gaussian = StatisticsGaussian.fit(rng.normal(size=(400, STATISTICS)), ["all", "hem"] * 200)
    evidence = ModelEvidence(index=index, ood_threshold=20.0, ood_statistics=gaussian)
    features = rng.normal(size=(MANY_CELLS, DIMENSIONS)).astype(np.float32)
    statistics = list(rng.normal(size=(MANY_CELLS, STATISTICS)))
    prediction = Prediction("all", 0.9, 0.5)
    analyses = [CellAnalysis(prediction, None, (), row, statistics=cell) for row, cell in zip(features, statistics)]
    seconds = best_of(lambda: neighbourhoods(analyses, evidence), repeats=7, warmup=1)
    older = best_of(lambda: neighbourhoods(analyses, ModelEvidence(index=index, ood_threshold=0.3)), repeats=7, warmup=1)
    stages = preprocess_cell(load_image(sample_bytes()).image_rgb, 224)
    per_cell = best_of(lambda: statistics_of(stages), repeats=51, warmup=3)
    scoring = best_of(lambda: evidence.ood_scores(statistics, [0.0] * MANY_CELLS), repeats=51, warmup=3)
    results["ood_query"] = {
        "cells": MANY_CELLS, "indexed_cells": INDEXED_CELLS, "dimensions": DIMENSIONS,
        "query_300_ms": milliseconds(seconds), "query_goal": f"<= {milliseconds(MANY_GOAL_SECONDS)} ms ({verdict(seconds, MANY_GOAL_SECONDS)})",
        "statistics_scores_of_300_ms": milliseconds(scoring), "older_knn_score_query_300_ms": milliseconds(older), "statistics_of_one_224px_cell_ms": round(per_cell * 1000, 2),
    }
