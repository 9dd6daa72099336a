"""Command line: add the subject-level evaluation to a model trained before training wrote it.

    python -m core.cli.subjects --model models/leukemia_resnet50.keras [--data-dir PATH]

Reads the P(all) that training stored in `<model>.tuning_predictions.csv`,
`<model>.calibration_predictions.csv` and `<model>.external_predictions.csv` (no model run is needed),
checks the calibration cells are the ones `<model>.split.csv` lists, answers each held-out subject
(tuning and calibration pooled) and each external subject from its cells with the model's threshold
and temperature, and rewrites the sidecar's "subject_evaluation" atomically with its SHA-256 unchanged.
A model trained before the three roles has one held-out set (`<model>.validation_predictions.csv`),
used with a note. Prints one line per subject and a summary per set.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from core import config
from core.data.labels import display_name, label_codes
from core.errors import LeukemiaAppError, ModelError
from core.model.store import read_sidecar, write_sidecar
from core.subjects.evaluation import SET_KEYS, subject_evaluation, summary_line
from core.cli.calibrate import OLDER_NOTE, check_split, fitted_set, read_rows, stored_sets
from core.data.sides import VALIDATION
from core.subjects import rules

SET_WORDS = {"held_out": "Held-out subjects", "external": "External set"}
SET_ORDER = ("tuning", "calibration", VALIDATION, "external")


def predictions(path: Path) -> tuple[list[float], list[int], list[str | None]]:
    """One predictions CSV (path,subject,label,probability_all) as P(all), label codes and subjects (None: unknown)."""
    rows = read_rows(path)
    try:
        probabilities = [float(row["probability_all"]) for row in rows]
        codes = [int(code) for code in label_codes(row["label"] for row in rows)]
    except (KeyError, ValueError) as error:
        raise ModelError(f"{path.name} is not a predictions file (path,subject,label,probability_all with labels all/hem): {error!r}.") from error
    return probabilities, codes, [row.get("subject") or None for row in rows]


def evaluate_model(model_path: Path, data_dir: Path | None = None) -> dict[str, Any]:
    """Add "subject_evaluation" to a model's sidecar; returns the new metadata.

    Raises:
        ModelError: no sidecar or evaluation, predictions of another split, unreadable CSVs, or no subject to evaluate.
    """
    metadata, warnings = read_sidecar(model_path)
    if warnings or not metadata.get("evaluation") or "threshold" not in metadata:
        raise ModelError(f"{config.sidecar_path(model_path).name} is missing or holds no evaluation: retrain with `python train.py`.")
    fit_set = fitted_set(metadata)
    files = stored_sets(metadata, model_path, fit_set)
    check_split(metadata, model_path, files[fit_set], data_dir, fit_set)
    # Training's order: the tuning subjects, then the calibration subjects (pooled into "held_out"), then the external set.
    sets = {name: predictions(files[name]) for name in sorted(files, key=SET_ORDER.index)}
    temperature = (metadata.get("calibration") or {}).get("temperature")
    seed = int((metadata.get("arguments") or {}).get("seed", 0))
    try:
        found = subject_evaluation(sets, float(metadata["threshold"]), temperature,
                                   (metadata.get("split") or {}).get("kind", "subject"), seed)
    except ValueError as error:
        raise ModelError(str(error)) from error
    if found is None:
        raise ModelError("No held-out or external cell has a known subject, so there is nothing to answer by subject.")
    metadata["subject_evaluation"] = found
    write_sidecar(model_path, metadata)
    return metadata


def report_lines(found: dict[str, Any]) -> list[str]:
    """Per set: one line per subject (name, cells, score with interval, answer, truth), then its summary."""
    lines = []
    for key in SET_KEYS.values():
        if key not in found:
            continue
        lines.append(f"{SET_WORDS[key]}, {rules.RULE_NAMES[found['rule']]}:")
        for row in found[key]["rows"]:
            low, high = row["interval"]
            lines.append(f"  {row['subject']}\t{row['cells']} cells\tscore {row['score']:.3f} ({low:.3f}-{high:.3f})\t"
                         f"answer {display_name(row['answer'])}\ttruth {display_name(row['truth'])}")
        lines.append(f"  {summary_line(found, key)}.")
    return lines + [f"note: {note}" for note in found.get("notes", [])]


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: 0 when the sidecar was rewritten, 2 with one line on any error."""
    parser = argparse.ArgumentParser(prog="python -m core.cli.subjects", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=config.default_model_path(), help="the .keras model (default: %(default)s)")
    parser.add_argument("--data-dir", type=Path, help="the data folder the model was trained on, when its sidecar does not record it (default: the sidecar's data root)")
    arguments = parser.parse_args(argv)
    try:
        metadata = evaluate_model(arguments.model.expanduser(), arguments.data_dir)
    except (LeukemiaAppError, OSError) as error:
        print(f"subjects: error: {error}", file=sys.stderr)
        return 2
    if fitted_set(metadata) == VALIDATION:
        print(OLDER_NOTE)
    print("\n".join(report_lines(metadata["subject_evaluation"])))
    print(f"Wrote the subject-level evaluation to {config.sidecar_path(arguments.model)}.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
