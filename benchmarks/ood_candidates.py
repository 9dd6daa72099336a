"""The OOD scores the study compares, each fitted on the training cells only; higher always means less familiar.

- k-NN distance (Sun et al. 2022, "Out-of-distribution detection with deep nearest neighbors"):
  the distance to the k-th nearest training cell, on raw or L2-normalised pooled features.
- Class-conditional Mahalanobis distance with a tied covariance (Lee et al. 2018, "A simple unified
  framework for detecting out-of-distribution samples and adversarial attacks"), on the globally
  average-pooled output of one ResNet50 stage, or summed over several (each stage's score divided
  by its median over the training cells, so no stage outweighs the others by its width).
- Energy (Liu et al. 2020) of the two-class logits (0, z) of the sigmoid unit, and the maximum
  softmax probability (Hendrycks and Gimpel 2017) as -|z|.
- Low-level image statistics over the cell mask (stain colour and texture, `core.imaging.statistics`),
  Mahalanobis against the training cells: pooled over both classes, and class-conditional with a tied
  covariance, the score `core.model.ood` computes (`StatisticsGaussian`).
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from core.model.ood import StatisticsGaussian

Score = Callable[[dict[str, np.ndarray]], np.ndarray]  # a cell set's features by name -> (N,) scores


def unit(features: np.ndarray) -> np.ndarray:
    return features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)


def knn(train: np.ndarray, k: int, normalised: bool) -> Callable[[np.ndarray], np.ndarray]:
    """Distance of each (N, D) row to its k-th nearest of the (T, D) training rows (Euclidean)."""
    reference = unit(train) if normalised else train
    squared_reference = (reference**2).sum(axis=1)

    def score(features: np.ndarray) -> np.ndarray:
        queries = unit(features) if normalised else features
        squared = (queries**2).sum(axis=1)[:, None] + squared_reference[None] - 2 * queries @ reference.T
        return np.sqrt(np.maximum(np.partition(squared, k - 1, axis=1)[:, k - 1], 0.0))

    return score


def mahalanobis(train: np.ndarray, labels: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """The smallest squared Mahalanobis distance to a class mean, one covariance shared by the classes (Ledoit-Wolf shrunk)."""
    from sklearn.covariance import LedoitWolf

    classes = sorted(set(labels))
    means = np.stack([train[labels == name].mean(axis=0) for name in classes]).astype(np.float64)
    centred = np.concatenate([train[labels == name] - mean for name, mean in zip(classes, means)])
    precision = LedoitWolf(assume_centered=True).fit(centred).precision_

    def score(features: np.ndarray) -> np.ndarray:
        differences = np.asarray(features, np.float64)[:, None, :] - means[None]  # (N, C, D)
        return np.einsum("ncd,de,nce->nc", differences, precision, differences).min(axis=1)

    return score


def energy(logits: np.ndarray) -> np.ndarray:
    """-log(e^0 + e^z): the free energy of the logits (0, z); higher (less negative) means less familiar."""
    return -np.logaddexp(0.0, logits)


def max_softmax(logits: np.ndarray) -> np.ndarray:
    """-|z|: the less confident the sigmoid, the less familiar (MSP of the two-class softmax is monotone in |z|)."""
    return -np.abs(logits)


def stage_sum(train: dict[str, np.ndarray], labels: np.ndarray, stages: tuple[str, ...]) -> Score:
    """Lee et al.'s feature ensemble without OOD data to weigh it: per-stage Mahalanobis over its training median, summed."""
    fitted = {stage: mahalanobis(train[stage], labels) for stage in stages}
    medians = {stage: float(np.median(fitted[stage](train[stage]))) for stage in stages}
    return lambda cells: sum(fitted[stage](cells[stage]) / medians[stage] for stage in stages)


def on(name: str, fitted: Callable[[np.ndarray], np.ndarray]) -> Score:
    """A fitted score of one feature set, applied to a cell set's features of that name."""
    return lambda cells: fitted(cells[name])


def candidates(train: dict[str, np.ndarray], labels: np.ndarray) -> dict[str, Score]:
    """Every score of the study, fitted on the training cells' features (by name) and labels."""
    scores: dict[str, Score] = {"knn_unit_k10 (today)": on("avg_pool", knn(train["avg_pool"], 10, True))}
    for k in (1, 50):
        scores[f"knn_unit_k{k}"] = on("avg_pool", knn(train["avg_pool"], k, True))
    scores["knn_raw_k10"] = on("avg_pool", knn(train["avg_pool"], 10, False))
    for stage in ("conv2", "conv3", "conv4", "avg_pool"):
        scores[f"maha_{stage}"] = on(stage, mahalanobis(train[stage], labels))
    scores["maha_conv2+3+4"] = stage_sum(train, labels, ("conv2", "conv3", "conv4"))
    scores["maha_conv2+3+4+pool"] = stage_sum(train, labels, ("conv2", "conv3", "conv4", "avg_pool"))
    for stage in ("conv2", "conv3", "conv4"):
        scores[f"knn_unit_k10_{stage}"] = on(stage, knn(train[stage], 10, True))
    scores["energy"] = on("logit", energy)
    scores["max_softmax"] = on("logit", max_softmax)
    scores["image_stats_maha_pooled"] = on("image_stats", mahalanobis(train["image_stats"], np.zeros(len(labels))))
    scores["image_stats_maha (chosen)"] = on("image_stats", StatisticsGaussian.fit(train["image_stats"], labels).scores)
    for partner in ("knn_unit_k10 (today)", "maha_conv2", "maha_conv2+3+4"):
        scores[f"max(image_stats, {partner})"] = larger_of(train, (scores["image_stats_maha (chosen)"], scores[partner]))
    return scores


def larger_of(train: dict[str, np.ndarray], parts: tuple[Score, ...]) -> Score:
    """The largest of several scores, each over its median on the training cells (flagged when any one is far)."""
    medians = [float(np.median(part(train))) for part in parts]
    return lambda cells: np.max([part(cells) / median for part, median in zip(parts, medians)], axis=0)
