"""Command line: refit a model's calibration and conformal thresholds from the predictions training stored.

    python -m core.cli.calibrate --model models/leukemia_resnet50.keras [--data-dir PATH]

Fits the temperature and the conformal scores on the P(all) that training stored in
`<model>.calibration_predictions.csv` (the calibration subjects; no model run is needed), after checking
those cells are the ones `<model>.split.csv` lists as calibration; reports them on
`<model>.tuning_predictions.csv` and `<model>.external_predictions.csv` too, and rewrites the sidecar
atomically with its SHA-256 unchanged. A model trained before the three roles has one held-out set,
`<model>.validation_predictions.csv` (the "validation" side): it is used, with a note that those subjects
also chose the epoch.
"""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

from core import config
from core.data.labels import label_codes
from core.data.sides import CALIBRATION, EXTERNAL, TUNING, VALIDATION
from core.errors import LeukemiaAppError, ModelError
from core.model.store import read_sidecar, write_sidecar
from core.training.calibration_fit import HeldOutSet, calibrate_held_out, summary_line
from core.training.sidecar import PREDICTIONS_SUFFIXES

# Every set a model's sidecar may evaluate -> its predictions CSV; "validation": models from before the roles.
PREDICTIONS = {**PREDICTIONS_SUFFIXES, VALIDATION: ".validation_predictions.csv"}
OLDER_NOTE = ("note: this model was trained before the three roles: its one held-out set (validation) also chose the "
              "epoch, so the calibration is fitted on subjects that model selection saw. Retrain to separate them.")


def read_rows(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV file as dicts; ModelError naming the file when it is missing or unreadable."""
    try:
        with open(path, newline="") as handle:
            return list(csv.DictReader(handle))
    except OSError as error:
        raise ModelError(f"Cannot read {path} ({error.strerror}): it is written by `python train.py` next to the model.") from error


def held_out_set(path: Path) -> HeldOutSet:
    """One predictions CSV (path,subject,label,probability_all) as labels, P(all) and subjects."""
    rows = read_rows(path)
    try:
        labels = label_codes(row["label"] for row in rows)
        probabilities = np.array([float(row["probability_all"]) for row in rows])
    except (KeyError, ValueError) as error:
        raise ModelError(f"{path.name} is not a predictions file (path,subject,label,probability_all with labels all/hem): {error!r}.") from error
    return HeldOutSet(labels, probabilities, [row.get("subject") or "unknown" for row in rows])


def relative_path(path: Path, roots: list[Path]) -> str:
    """The path relative to the first data folder that holds it (as the split CSV writes it), else as given."""
    return next((str(path.relative_to(root)) for root in roots if path.is_relative_to(root)), str(path))


def fitted_set(metadata: dict) -> str:
    """"calibration" for a model with the three roles, "validation" for an older one.

    Raises:
        ModelError: the sidecar holds no evaluation of either.
    """
    evaluations = metadata.get("evaluation") or {}
    found = next((name for name in (CALIBRATION, VALIDATION) if name in evaluations), None)
    if found is None:
        raise ModelError(f"The sidecar evaluates no calibration subjects (it has {sorted(evaluations) or 'no sets'}): "
                         "retrain with `python train.py`.")
    return found


def check_split(metadata: dict, model_path: Path, predictions_csv: Path, data_dir: Path | None, side: str = CALIBRATION) -> None:
    """Refuse predictions whose cells are not the split's `side` cells (paths relative to the data folder)."""
    split_csv = model_path.with_name((metadata.get("split") or {}).get("files_csv") or config.beside_model(model_path, config.SPLIT_CSV_SUFFIX).name)
    listed = {row["path"] for row in read_rows(split_csv) if row.get("side") == side}
    roots = [Path(root) for root in (data_dir, (metadata.get("data") or {}).get("root")) if root]
    predicted = [relative_path(Path(row["path"]), roots) for row in read_rows(predictions_csv)]
    if set(predicted) != listed:
        raise ModelError(f"{predictions_csv.name} holds {len(predicted)} cells but {split_csv.name} lists {len(listed)} {side} "
                         f"cells, and they differ: these predictions are not this model's. Pass --data-dir when the sidecar records no data folder.")


def stored_sets(metadata: dict, model_path: Path, fit_set: str) -> dict[str, Path]:
    """{set name: predictions CSV} for the fitted set and every other evaluated set whose CSV is there."""
    names = (fit_set, *(name for name in (TUNING, EXTERNAL) if name != fit_set))
    return {name: config.beside_model(model_path, PREDICTIONS[name]) for name in names
            if name == fit_set or (name in metadata["evaluation"] and config.beside_model(model_path, PREDICTIONS[name]).is_file())}


def calibrate_model(model_path: Path, data_dir: Path | None = None) -> dict:
    """Add the calibration and conformal keys to a model's sidecar; returns the new metadata."""
    metadata, warnings = read_sidecar(model_path)
    if warnings or not metadata.get("evaluation"):
        raise ModelError(f"{config.sidecar_path(model_path).name} is missing or holds no evaluation: retrain with `python train.py`.")
    fit_set = fitted_set(metadata)
    files = stored_sets(metadata, model_path, fit_set)
    check_split(metadata, model_path, files[fit_set], data_dir, fit_set)
    held_out = {name: held_out_set(path) for name, path in files.items()}
    seed = int((metadata.get("arguments") or {}).get("seed", 0))
    try:
        keys = calibrate_held_out(metadata["evaluation"], held_out, seed)
    except ValueError as error:
        raise ModelError(str(error)) from error
    metadata.update(keys)
    write_sidecar(model_path, metadata)
    return metadata


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: 0 when the sidecar was rewritten, 2 with one line on any error."""
    parser = argparse.ArgumentParser(prog="python -m core.cli.calibrate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=config.default_model_path(), help="the .keras model (default: %(default)s)")
    parser.add_argument("--data-dir", type=Path, help="the data folder the model was trained on, when its sidecar does not record it (default: the sidecar's data root)")
    arguments = parser.parse_args(argv)
    try:
        metadata = calibrate_model(arguments.model.expanduser(), arguments.data_dir)
    except (LeukemiaAppError, OSError) as error:
        print(f"calibrate: error: {error}", file=sys.stderr)
        return 2
    temperature = metadata["calibration"]["temperature"]
    if fitted_set(metadata) == VALIDATION:
        print(OLDER_NOTE)
    print(f"Wrote calibration (T = {temperature:.3f}, fitted on the {metadata['calibration']['fitted_on']}) and conformal "
          f"scores to {config.sidecar_path(arguments.model)}.")
    summary = summary_line(metadata["evaluation"].get("external") or {})
    print(f"External set, {summary}." if summary else "No external set: coverage is reported on the held-out subjects only.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
