"""Rewrite a trained model's files as training wrote them before the three roles, for the commands that still read them."""
from __future__ import annotations

import json
from pathlib import Path

from core import config


def as_model_from_before_the_roles(path: Path) -> None:
    """Rewrite a model's files as training wrote them before the roles: one held-out side, "validation"."""
    sidecar = json.loads(config.sidecar_path(path).read_text())
    evaluations = sidecar["evaluation"]
    evaluations["validation"] = evaluations.pop("calibration")
    evaluations["validation"]["predictions_csv"] = path.stem + ".validation_predictions.csv"
    del evaluations["tuning"], sidecar["split_roles"]
    config.sidecar_path(path).write_text(json.dumps(sidecar))
    path.with_name(path.stem + ".calibration_predictions.csv").rename(path.with_name(path.stem + ".validation_predictions.csv"))
    split_csv = path.with_name(path.stem + ".split.csv")
    lines = [line.replace(",calibration", ",validation") for line in split_csv.read_text().splitlines() if not line.endswith(",tuning")]
    split_csv.write_text("\n".join(lines) + "\n")
