"""After training: evaluate on held-out data, then write the model, its sidecar and CSVs.

Files written next to the model (`models/leukemia_resnet50.keras`):
- `.json`: the sidecar (the model card's data: metrics, history, split and its roles, provenance);
- `.split.csv`: every image used, with its role (train / tuning / calibration / external);
- `.tuning_predictions.csv`, `.calibration_predictions.csv`, `.external_predictions.csv`: P(all) per
  held-out image (raw, before calibration: `python -m core.cli.calibrate` refits the sidecar's
  calibration from the calibration subjects' file).

The decision threshold, the temperature and the conformal scores come from the calibration subjects
only; the tuning subjects chose the epoch (`core.training.run`); the external set chose nothing.
"""
from __future__ import annotations

import csv
import hashlib
import platform
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Sequence

import keras
import numpy as np

from core.config import SPLIT_CSV_SUFFIX, beside_model
from core.data.sides import CALIBRATION, EXTERNAL, TUNING
from core.data.index import DatasetIndex, ImageRecord
from core.data.labels import label_codes
from core.data.splits import Split
from core.data.synthetic import is_synthetic
from core.model.store import base_metadata, save_model
from core.training.calibration_fit import HeldOutSet, calibrate_held_out
from core.reporting.evaluation import THRESHOLD_RULE, choose_threshold, evaluate
from core.subjects.evaluation import subject_evaluation

DEMO_NOTE = (
    "Demo model: trained from random weights on SYNTHETIC cells drawn by this project's generator. "
    "Its metrics describe synthetic data only and say nothing about real blood cells."
)
VERSION = "1.0"
PREDICTIONS_SUFFIXES = {TUNING: ".tuning_predictions.csv", CALIBRATION: ".calibration_predictions.csv",
                        EXTERNAL: ".external_predictions.csv"}  # Evaluated set -> its predictions CSV beside the model.
PROBABILITY_DECIMALS = 6  # The predictions CSVs' precision; calibration is fitted on these very values, so
# `python -m core.cli.calibrate` reproduces from the CSVs exactly what training wrote.


@dataclass(frozen=True)
class TrainingRun:
    """What one training run did, as its sidecar records it.

    Attributes:
        options: the run's `TrainOptions` as JSON values (`output`, `image_size`, `seed`, `demo`,
            `weights` among them).
        index, split, external: the indexed data, the three-role split and the external set.
        history: per-epoch metrics, keyed by metric, plus "phase" (one entry per epoch).
        precision: the Keras dtype policy ("float32" or "mixed_float16").
        replicas: devices the distribution strategy trained on.
        seconds: wall-clock training time.
        notes: warnings about the split (too few calibration cells of a class), for the model card.
    """

    options: dict[str, Any]
    index: DatasetIndex
    split: Split
    external: list[ImageRecord]
    history: dict[str, list]
    precision: str
    replicas: int
    seconds: float
    notes: tuple[str, ...] = ()

    @property
    def output(self) -> Path:
        return Path(self.options["output"])


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


def stored_text(probability: float) -> str:
    """P(all) as the predictions CSVs write it."""
    return f"{probability:.{PROBABILITY_DECIMALS}f}"


def as_stored(probabilities: np.ndarray) -> np.ndarray:
    """(N,) float64: P(all) exactly as a reader of the predictions CSVs gets it back."""
    return np.array([float(stored_text(probability)) for probability in probabilities])


def write_predictions_csv(path: Path, records: Sequence[ImageRecord], probabilities: np.ndarray) -> None:
    """path,subject,label,probability_all for one held-out set (absolute paths, for the explorer)."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "subject", "label", "probability_all"])
        for record, probability in zip(records, probabilities):
            writer.writerow([record.path, record.subject, record.label, stored_text(probability)])


def library_versions() -> dict[str, str]:
    """Versions of the libraries that shape the model's numbers."""
    import cv2
    import keras
    import sklearn
    import tensorflow as tf

    return {"python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__,
            "numpy": np.__version__, "opencv": cv2.__version__, "scikit-learn": sklearn.__version__}


def held_out_evaluations(output: Path, split: Split, external: list[ImageRecord], predict: Callable, seed: int) -> tuple[float, dict[str, Any], dict[str, Any]]:
    """Threshold, temperature and conformal scores from the calibration subjects; metrics on every held-out set.

    Returns:
        (threshold, {"tuning" / "calibration" / "external": evaluation}, the sidecar's calibration and
        conformal keys (left out when the calibration subjects lack a class, so that nothing could be
        fitted) and its "subject_evaluation", from the same stored P(all) as calibration).
    """
    records = {name: found for name, found in ((TUNING, split.tuning), (CALIBRATION, split.calibration), (EXTERNAL, external)) if found}
    # P(all) as the predictions CSVs store them (6 decimals): the threshold, the card's counts and the explorer's
    # mistakes then rest on the same values, even for a saturated model whose threshold is 0.999999.
    probabilities = {name: as_stored(predict(found)) for name, found in records.items()}
    held_out = {name: HeldOutSet(label_codes(r.label for r in found), as_stored(probabilities[name]), [r.subject or "unknown" for r in found])
                for name, found in records.items()}
    threshold = choose_threshold(held_out[CALIBRATION].labels, probabilities[CALIBRATION])
    evaluations = {}
    for name, found in records.items():
        evaluations[name] = evaluate(held_out[name].labels, probabilities[name], held_out[name].subjects, threshold, seed)
        write_predictions_csv(beside_model(output, PREDICTIONS_SUFFIXES[name]), found, probabilities[name])
        evaluations[name]["predictions_csv"] = beside_model(output, PREDICTIONS_SUFFIXES[name]).name
    try:
        calibration_keys = calibrate_held_out(evaluations, held_out, seed)
    except ValueError:  # One class among the calibration subjects: the card says calibration is missing.
        calibration_keys = {}
    by_subject = subject_evaluation({name: (held.probabilities, held.labels, [r.subject for r in records[name]]) for name, held in held_out.items()},
                                    threshold, (calibration_keys.get("calibration") or {}).get("temperature"), split.kind, seed)
    return threshold, evaluations, {**calibration_keys, **({"subject_evaluation": by_subject} if by_subject else {})}


def evaluate_and_save(model: keras.Model, run: TrainingRun, predict: Callable) -> dict[str, Any]:
    """Evaluate, then save the model with a sidecar holding everything the model card shows.

    Args:
        model: the trained Keras model.
        run: what the run did.
        predict: records -> (N,) P(all), through the training pipeline without augmentation.
    """
    options, output, index, split, external = run.options, run.output, run.index, run.split, run.external
    output.parent.mkdir(parents=True, exist_ok=True)
    threshold, evaluations, calibration_keys = held_out_evaluations(output, split, external, predict, options["seed"])
    write_split_csv(beside_model(output, SPLIT_CSV_SUFFIX), {**split.roles(), EXTERNAL: external}, index.root)
    used = [*split.train, *split.held_out, *external]
    synthetic = is_synthetic(index.root)
    epochs_run = len(run.history.get("loss", []))
    metadata = {
        **base_metadata(options["image_size"]),
        "version": VERSION,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "is_demo": bool(options["demo"]),
        "demo_note": DEMO_NOTE if options["demo"] else None,
        "threshold": threshold,
        "threshold_rule": THRESHOLD_RULE,
        "weights": options["weights"],
        "arguments": dict(options),
        "data": {"root": str(index.root), "fingerprint": data_fingerprint(used, Path(index.root)), "synthetic": synthetic},
        "split": {"kind": split.kind, "seed": split.seed, "tuning_fraction": options.get("tuning_fraction"),
                  "calibration_fraction": options.get("calibration_fraction"),
                  **{f"{role}_images": len(records) for role, records in split.roles().items()},
                  "external_images": len(external), "files_csv": beside_model(output, SPLIT_CSV_SUFFIX).name,
                  "notes": list(run.notes)},
        "split_roles": split.subjects(),
        "history": run.history,
        "evaluation": evaluations,
        **calibration_keys,
        "training": {"seconds": round(run.seconds, 1), "epochs_run": epochs_run, "precision": run.precision,
                     "replicas": run.replicas, "machine": platform.machine()},
        "library_versions": library_versions(),
    }
    return save_model(model, output, metadata)
