"""Similar known cells: one query of a 10,000-cell index, and what the features cost the classify pass.

The index holds random unit vectors of ResNet50's width (2048): a query's cost depends on the
number of cells and their width, not on their values. The paired pass (features and P(all)) is
timed against `probabilities` alone on the app's TTA batch of 8, round by round.
"""
from __future__ import annotations

import numpy as np

from benchmarks.app import interleaved_medians
from benchmarks.common import best_of, full_size_classifier, milliseconds, verdict

INDEXED_CELLS = 10_000
DIMENSIONS = 2048
QUERY_GOAL_SECONDS = 0.020  # nearest(k=6) and ood_score(k=10) together, for one image.


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
