"""After training: evaluate on held-out data, then write the model, its sidecar and CSVs.

Files written next to the model (`models/leukemia_resnet50.keras`):
- `.json`: the sidecar (the model card's data: metrics, history, split, provenance);
- `.split.csv`: every image used, with its side (train / validation / external);
- `.validation_predictions.csv`, `.external_predictions.csv`: P(all) per held-out image.
"""
from __future__ import annotations

import csv
import hashlib
import platform
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from core.data.index import ImageRecord
from core.reporting.evaluation import THRESHOLD_RULE, choose_threshold, evaluate
from core.model.network import base_metadata, save_model
from core.data.synthetic import is_synthetic
from core.training.options import TrainOptions, labels_of

DEMO_NOTE = (
    "Demo model: trained from random weights on SYNTHETIC cells drawn by this project's generator. "
    "Its metrics describe synthetic data only and say nothing about real blood cells."
)
VERSION = "1.0"


def artifact(output: Path, suffix: str) -> Path:
    """A file next to the model: models/leukemia_resnet50<suffix>."""
    return output.with_name(output.stem + suffix)


def data_fingerprint(records: Sequence[ImageRecord], root: Path) -> str:
    """SHA-256 over each used file's relative path and size (cheap: no pixel is read)."""
    digest = hashlib.sha256()
    for record in sorted(records, key=lambda r: str(r.path)):
        digest.update(f"{Path(record.path).relative_to(root)}|{Path(record.path).stat().st_size}\n".encode())
    return digest.hexdigest()


def write_split_csv(path: Path, sides: dict[str, list[ImageRecord]], root: Path) -> None:
    """path,subject,label,side for every image the run used."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "subject", "label", "side"])
        for side, records in sides.items():
            for record in records:
                writer.writerow([Path(record.path).relative_to(root), record.subject, record.label, side])


def write_predictions_csv(path: Path, records: Sequence[ImageRecord], probabilities: np.ndarray) -> None:
    """path,subject,label,probability_all for one held-out set (absolute paths, for the explorer)."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "subject", "label", "probability_all"])
        for record, probability in zip(records, probabilities):
            writer.writerow([record.path, record.subject, record.label, f"{probability:.6f}"])


def library_versions() -> dict[str, str]:
    """Versions of the libraries that shape the model's numbers."""
    import cv2
    import keras
    import sklearn
    import tensorflow as tf

    return {"python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__,
            "numpy": np.__version__, "opencv": cv2.__version__, "scikit-learn": sklearn.__version__}


def held_out_evaluations(output: Path, split, external, predict: Callable, seed: int) -> tuple[float, dict[str, Any]]:
    """Threshold from the validation split, then metrics on validation and the external set."""
    probabilities = predict(split.validation)
    labels = labels_of(split.validation)
    threshold = choose_threshold(labels, probabilities)
    evaluations = {"validation": evaluate(labels, probabilities, [r.subject for r in split.validation], threshold, seed)}
    write_predictions_csv(artifact(output, ".validation_predictions.csv"), split.validation, probabilities)
    evaluations["validation"]["predictions_csv"] = artifact(output, ".validation_predictions.csv").name
    if external:
        external_probabilities = predict(external)
        subjects = [r.subject or "unknown" for r in external]
        evaluations["external"] = evaluate(labels_of(external), external_probabilities, subjects, threshold, seed)
        write_predictions_csv(artifact(output, ".external_predictions.csv"), external, external_probabilities)
        evaluations["external"]["predictions_csv"] = artifact(output, ".external_predictions.csv").name
    return threshold, evaluations


def evaluate_and_save(model, options: TrainOptions, context: dict[str, Any], predict: Callable) -> dict[str, Any]:
    """Evaluate, then save the model with a sidecar holding everything the model card shows."""
    output, index, split, external = Path(options.output), context["index"], context["split"], context["external"]
    output.parent.mkdir(parents=True, exist_ok=True)
    threshold, evaluations = held_out_evaluations(output, split, external, predict, options.seed)
    write_split_csv(artifact(output, ".split.csv"), {"train": split.train, "validation": split.validation, "external": external}, index.root)
    subjects = split.subjects()
    used = [*split.train, *split.validation, *external]
    synthetic = is_synthetic(index.root)
    seconds = context["seconds"]
    epochs_run = len(context["history"].get("loss", []))
    metadata = {
        **base_metadata(options.image_size),
        "version": VERSION,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "is_demo": bool(options.demo),
        "demo_note": DEMO_NOTE if options.demo else None,
        "threshold": threshold,
        "threshold_rule": THRESHOLD_RULE,
        "weights": options.weights,
        "arguments": {key: (str(value) if isinstance(value, Path) else value) for key, value in vars(options).items()},
        "data": {"root": str(index.root), "fingerprint": data_fingerprint(used, Path(index.root)), "synthetic": synthetic},
        "split": {"kind": split.kind, "seed": split.seed, "train_subjects": subjects["train"],
                  "validation_subjects": subjects["validation"], "train_images": len(split.train),
                  "validation_images": len(split.validation), "external_images": len(external),
                  "files_csv": artifact(output, ".split.csv").name},
        "history": context["history"],
        "evaluation": evaluations,
        "training": {"seconds": round(seconds, 1), "epochs_run": epochs_run, "precision": context["precision"],
                     "replicas": context["replicas"], "machine": platform.machine()},
        "library_versions": library_versions(),
    }
    return save_model(model, output, metadata)
