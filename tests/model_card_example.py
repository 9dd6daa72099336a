"""A realistic model sidecar, generated in Python, for the Model card and Dataset explorer tests.

It follows the contract `train.py` writes (see `core.model_report` and `core.evaluation`):
scores are drawn for a few held-out subjects, and every curve and metric is computed from
them with scikit-learn, so the numbers agree with each other as a real card's would.
"""
from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
from sklearn import metrics

THRESHOLD = 0.42


def held_out_scores(seed: int = 0, subjects: int = 9, images_per_subject: int = 30):
    """(labels 1 = all, P(all), subject ids) for about 2:1 all:hem subjects, classes well but not fully apart."""
    rng = np.random.default_rng(seed)
    labels, probabilities, subject_ids = [], [], []
    for number in range(subjects):
        label = 0 if number % 3 == 2 else 1
        shift = rng.normal(0, 0.6)  # Some subjects are harder than others.
        logits = rng.normal((1.4 if label else -1.4) + shift, 1.3, images_per_subject)
        labels += [label] * images_per_subject
        probabilities += list(1 / (1 + np.exp(-logits)))
        subject_ids += [f"H{number}" if label == 0 else str(number)] * images_per_subject
    return np.array(labels), np.array(probabilities), subject_ids


def scores(labels: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    tn, fp, fn, tp = metrics.confusion_matrix(labels, predicted, labels=[0, 1]).ravel()
    return {
        "accuracy": float(metrics.accuracy_score(labels, predicted)),
        "balanced_accuracy": float(metrics.balanced_accuracy_score(labels, predicted)),
        "weighted_f1": float(metrics.f1_score(labels, predicted, average="weighted", zero_division=0)),
        "sensitivity": float(tp / (tp + fn)),
        "specificity": float(tn / (tn + fp)),
    }


def example_evaluation(seed: int = 0, predictions_csv: str = "leukemia_resnet50.validation_predictions.csv") -> dict:
    """One EVAL block: metrics, curves (thresholds capped at 1.0, as stored), calibration, per subject."""
    labels, probabilities, subject_ids = held_out_scores(seed)
    predicted = (probabilities >= THRESHOLD).astype(int)
    fpr, tpr, roc_thresholds = metrics.roc_curve(labels, probabilities)
    precision, recall, pr_thresholds = metrics.precision_recall_curve(labels, probabilities)
    edges = np.clip(np.digitize(probabilities, np.linspace(0, 1, 11)[1:-1]), 0, 9)
    bins = [edges == index for index in range(10) if (edges == index).any()]
    return {
        "n_images": int(len(labels)),
        "n_subjects": len(set(subject_ids)),
        "threshold": THRESHOLD,
        **scores(labels, predicted),
        "roc_auc": float(metrics.roc_auc_score(labels, probabilities)),
        "roc_auc_ci95": [0.81, 0.93],
        "brier": float(metrics.brier_score_loss(labels, probabilities)),
        "ece": 0.061,
        "confusion_matrix": metrics.confusion_matrix(labels, predicted, labels=[0, 1]).tolist(),
        "roc_curve": {"fpr": fpr.tolist(), "tpr": tpr.tolist(), "thresholds": np.minimum(roc_thresholds, 1.0).tolist()},
        "pr_curve": {"precision": precision[:-1].tolist(), "recall": recall[:-1].tolist(), "thresholds": pr_thresholds.tolist()},
        "calibration": {
            "bin_mean_predicted": [float(probabilities[mask].mean()) for mask in bins],
            "bin_fraction_positive": [float(labels[mask].mean()) for mask in bins],
            "bin_count": [int(mask.sum()) for mask in bins],
        },
        "per_subject": [
            {"subject": subject, "label": "all" if labels[mask].mean() >= 0.5 else "hem", "n": int(mask.sum()),
             "accuracy": float((predicted[mask] == labels[mask]).mean())}
            for subject in sorted(set(subject_ids))
            for mask in [np.array(subject_ids) == subject]
        ],
        "baseline_all": scores(labels, np.ones_like(labels)),
        "predictions_csv": predictions_csv,
    }


def example_sidecar(is_demo: bool = False, image_size: int = 64) -> dict:
    """A whole sidecar as `train.py` writes it (without sha256, which `save_model` adds)."""
    epochs_head, epochs_fine = 4, 3
    loss = list(np.linspace(0.68, 0.40, epochs_head + epochs_fine))
    auc = list(np.linspace(0.62, 0.90, epochs_head + epochs_fine))
    return {
        "format_version": 1,
        "model_name": "leukemia_resnet50",
        "version": "1.0",
        "created": "2025-11-20T10:31:07+00:00",
        "is_demo": is_demo,
        "demo_note": "Demo model: trained on SYNTHETIC cells." if is_demo else None,
        "class_names": ["hem", "all"],
        "positive_class": "all",
        "threshold": THRESHOLD,
        "threshold_rule": "Youden's J on the validation split.",
        "image_size": image_size,
        "weights": "none" if is_demo else "imagenet",
        "arguments": {"epochs": epochs_head, "fine_tune_epochs": epochs_fine, "batch_size": 32, "seed": 0},
        "data": {"root": "/data/C-NMC_Leukemia", "fingerprint": "ab" * 32, "synthetic": is_demo},
        "split": {"kind": "subject", "seed": 0, "train_subjects": [str(n) for n in range(20, 50)],
                  "validation_subjects": [str(n) for n in range(9)], "train_images": 8528,
                  "validation_images": 2133, "external_images": 1867, "files_csv": "leukemia_resnet50.split.csv"},
        "history": {"loss": loss, "val_loss": [value + 0.05 for value in loss], "auc": auc,
                    "val_auc": [value - 0.04 for value in auc],
                    "phase": ["head"] * epochs_head + ["fine-tune"] * epochs_fine},
        "evaluation": {"validation": example_evaluation(0),
                       "external": example_evaluation(1, "leukemia_resnet50.external_predictions.csv")},
        "library_versions": {"python": "3.12.3", "tensorflow": "2.21.0", "keras": "3.15.1"},
    }


def write_predictions_csv(path: Path, rows: list[tuple[Path, str | None, str, float]]) -> None:
    """path,subject,label,probability_all, as `train.py` writes it next to the model."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "subject", "label", "probability_all"])
        writer.writerows(rows)


def install_model(tiny_model: Path, folder: Path, sidecar: dict | None) -> Path:
    """Copy the tiny test model to `folder/leukemia_resnet50.keras` with `sidecar` (plus its SHA-256).

    With `sidecar=None` no JSON is written, as for a model whose metadata was lost.
    """
    from core.model.store import base_metadata, file_sha256, write_sidecar

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "leukemia_resnet50.keras"
    shutil.copyfile(tiny_model, path)
    if sidecar is not None:
        metadata = {**base_metadata(sidecar.get("image_size", 64)), **sidecar}
        write_sidecar(path, {**metadata, "sha256": file_sha256(path), "file_name": path.name})
    return path
