"""Command line: audit a model's explanations (faithfulness and sanity check per method and layer) into its sidecar.

    python -m core.cli.audit --model models/leukemia_resnet50.keras --data data/C-NMC_Leukemia

Training writes this audit itself; this command is for models trained before it did.
"""
from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Sequence
from pathlib import Path

from core import config
from core.data.index import find_dataset_root
from core.data.sides import HELD_OUT_ROLES, split_csv_path
from core.errors import LeukemiaAppError
from core.explain.audit import AUDIT_CELLS, attach_audit, audit_pairs
from core.explain.explainer import LAYERS, METHOD_NAMES, METHODS, Explainer
from core.model.store import load_classifier


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m core.cli.audit",
        description="Measure each explanation method's faithfulness (deletion and insertion areas) and sanity check "
        "over a few held-out cells, and store the result in the model's sidecar for the model card.",
        epilog="The held-out cells are the tuning and calibration rows (an older model's 'validation' rows) of the split CSV "
        "written beside the model by training. "
        "Exit status 0 on success, 2 when the model, its split CSV or the data cannot be used.",
    )
    parser.add_argument("--model", default=str(config.default_model_path()), help="the .keras model (default: %(default)s)")
    parser.add_argument("--data", default=str(config.default_data_dir()),
                        help="the C-NMC folder the model was trained on (default: %(default)s)")
    parser.add_argument("--cells", type=int, default=AUDIT_CELLS, help="held-out cells to audit (default: %(default)s)")
    parser.add_argument("--method", action="append", choices=METHODS, help="audit only this method (repeatable; default: all)")
    parser.add_argument("--layer", action="append", choices=list(LAYERS),
                        help="audit the layer-based methods only on this layer (repeatable; default: stages 3 to 5)")
    return parser.parse_args(argv)


def held_out_paths(model_path: Path, root: Path) -> list[Path]:
    """Absolute paths of the held-out cells listed in the split CSV beside the model.

    Raises:
        LeukemiaAppError: there is no readable split CSV, or it lists no held-out cell under `root`.
    """
    split = split_csv_path(model_path)
    try:
        with open(split, newline="") as handle:
            rows = [row for row in csv.DictReader(handle) if row.get("side") in HELD_OUT_ROLES and row.get("path")]
    except (OSError, csv.Error, UnicodeDecodeError) as error:
        raise LeukemiaAppError(f"Cannot read the split CSV {split} ({error}); it is written by train.py beside the model.") from error
    paths = [root / row["path"] for row in rows if (root / row["path"]).is_file()]
    if not paths:
        raise LeukemiaAppError(f"None of the {len(rows)} held-out cells in {split.name} is under {root}: "
                               "pass the data folder the model was trained on with --data.")
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        if args.cells < 1:
            raise LeukemiaAppError(f"--cells must be at least 1; got {args.cells}.")
        paths = held_out_paths(Path(args.model), find_dataset_root(args.data))  # before the model: a quick refusal
        loaded = load_classifier(args.model)
        explainer = Explainer(loaded.model, threshold=loaded.threshold)
        pairs = [(method, layer) for method, layer in audit_pairs() if method in (args.method or METHODS)
                 and (method == "smoothgrad" or layer in (args.layer or LAYERS))]
        metadata = attach_audit(explainer, Path(args.model), loaded.metadata, paths, args.cells, pairs)
    except LeukemiaAppError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    audit = metadata["explanation_audit"]
    print(f"Audited {audit['cells']} held-out cells; written to {config.sidecar_path(Path(args.model))}.")
    for row in audit["rows"]:
        print(f"{METHOD_NAMES[row['method']]}\t{row['layer']}\tdeletion {row['deletion_area']}\t"
              f"insertion {row['insertion_area']}\tsanity {row['sanity_correlation']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
