"""Command line: rebuild a model's index of known cells and its OOD threshold from the model and its data.

    python -m core.cli.index --model models/leukemia_resnet50.keras --data-dir data/C-NMC_Leukemia

For models trained before the index existed (training now writes it). The split CSV beside
the model (`<stem>.split.csv`) says which files were train and which held out (tuning and
calibration; an older model's one "validation" side); those cells are passed through the
training pipeline (no augmentation), `<stem>.index.npz` is written beside the model and the
sidecar gains its "embedding_index" entry: the training cells' stain and texture statistics that the
OOD score compares a cell with (`core.training.ood_fit`), and its OOD threshold, set on the calibration
cells only (an older model's held-out cells). Run it again on a model indexed before the statistics. Exit status 0, or 2 with one line saying what was wrong.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from pathlib import Path

from core.data.sides import split_csv_path
from core.errors import LeukemiaAppError, ModelError

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # Before TensorFlow loads: its start-up lines would bury the one-line error.
# Split CSV side -> index side: the held-out roles (and an older model's "validation") are the index's "validation".
INDEX_SIDES = {"train": "train", "tuning": "validation", "calibration": "validation", "validation": "validation"}


def read_split_records(model_path: Path, root: Path) -> tuple[dict, list | None]:
    """({"train": [ImageRecord...], "validation": [held-out...]}, the calibration records or None) from `<stem>.split.csv`.

    The calibration records set the OOD threshold; None for a split CSV from before the roles (its held-out cells do).

    Raises:
        ModelError: no split CSV, a malformed one, or a listed file missing under `root`.
    """
    from core.data.index import ImageRecord

    split_csv = split_csv_path(model_path)
    if not split_csv.is_file():
        raise ModelError(f"No split file {split_csv.name} beside the model: without it the train and held-out cells are unknown. Retrain the model.")
    records: dict[str, list] = {"train": [], "validation": []}
    calibration = []
    with open(split_csv, newline="") as handle:
        rows = list(csv.DictReader(handle))
    if rows and not {"path", "subject", "label", "side"} <= set(rows[0]):
        raise ModelError(f"{split_csv.name} lacks the columns path, subject, label and side; found {sorted(rows[0])}.")
    for row in rows:
        if row["side"] in INDEX_SIDES:
            record = ImageRecord(root / row["path"], row["side"], row["label"] or None, row["subject"] or None)
            records[INDEX_SIDES[row["side"]]].append(record)
            calibration += [record] if row["side"] == "calibration" else []
    missing = [record.path for found in records.values() for record in found if not record.path.is_file()]
    if missing:
        raise ModelError(f"{len(missing)} file(s) listed in {split_csv.name} are not under {root} (first: {missing[0]}). Pass the --data-dir the model was trained on.")
    if not records["train"] or not records["validation"]:
        raise ModelError(f"{split_csv.name} lists {len(records['train'])} train and {len(records['validation'])} held-out cells; both are needed.")
    if any(row["side"] == "tuning" for row in rows) and not calibration:
        raise ModelError(f"{split_csv.name} lists tuning cells but no calibration cells, whose distances set the OOD threshold. Retrain the model.")
    return records, (calibration or None)


def rebuild(model_path: Path, data_dir: Path, batch_size: int) -> dict:
    """Load the model, read its split, write the index and the sidecar entry; returns that entry."""
    from core.data.index import find_dataset_root
    from core.model.store import load_classifier, read_sidecar
    from core.training.neighbours import SIDECAR_KEY, attach_index

    loaded = load_classifier(model_path)
    root = find_dataset_root(data_dir)
    records, calibration = read_split_records(loaded.path, root)
    # The sidecar as written (not the defaults `load_classifier` fills in), plus the input size it was loaded at.
    saved = {**read_sidecar(loaded.path)[0], "image_size": loaded.image_size}
    metadata = attach_index(loaded.model, loaded.path, saved, records, root, batch_size, threshold_records=calibration)
    return metadata[SIDECAR_KEY]


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: rebuild the index; 2 with one line on any error."""
    parser = argparse.ArgumentParser(prog="python -m core.cli.index", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="the trained .keras model (its .split.csv and .json beside it)")
    parser.add_argument("--data-dir", type=Path, required=True, help="the C-NMC_Leukemia folder the model was trained on")
    parser.add_argument("--batch-size", type=int, default=32, help="images per forward pass (default: %(default)s)")
    arguments = parser.parse_args(argv)
    try:
        entry = rebuild(arguments.model, arguments.data_dir, arguments.batch_size)
    except (LeukemiaAppError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(entry, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
