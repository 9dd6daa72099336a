"""Which out-of-distribution score sees the shifts a user meets? A study on a trained model and its data.

    python benchmarks/ood_scores.py --model /tmp/ood/leukemia_resnet50.keras \
        --data-dir /tmp/roles/data/C-NMC_Leukemia [--real-cells ../shared/data/real_cells] [--json out.json]
    python benchmarks/run.py --only ood_scores   # the same on $LEUKEMIA_OOD_MODEL / $LEUKEMIA_OOD_DATA

In-distribution: the calibration subjects' cells (they set each score's threshold, its 95th
percentile, so 5% of them are flagged) and the external set (the check: how many of them that
threshold flags). Shifted: real C-NMC cells, and the external cells perturbed by stain, blur,
JPEG and scale at three strengths (`benchmarks.ood_shifts`). Every image is decoded by
`core.imaging.decode.load_image` from its file's bytes and preprocessed by `preprocess_cell`, and
the features come from the model as loaded by `load_classifier`, in float32. Per score and shift:
AUROC and FPR at 95% TPR against the external set (sklearn), and the share flagged at the threshold.
The candidates are in `benchmarks.ood_candidates`; every one is fitted on the training cells only.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
if not __package__:
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from benchmarks.common import ROOT  # noqa: E402

REAL_CELLS = ROOT.parent / "shared" / "data" / "real_cells"
STAGE_LAYERS = {"conv2": "conv2_block3_out", "conv3": "conv3_block4_out", "conv4": "conv4_block6_out"}
FLAG_PERCENTILE = 95


class Extractor:
    """Decode, preprocess, and one float32 pass giving every stage's pooled features and the logit."""

    def __init__(self, model_path: Path) -> None:
        import keras
        import tensorflow as tf

        from core.model.network import LOGIT_LAYER, POOL_LAYER
        from core.model.store import load_classifier

        self.loaded = load_classifier(model_path)
        model = self.loaded.model
        pooled = [keras.layers.GlobalAveragePooling2D()(model.get_layer(name).output) for name in STAGE_LAYERS.values()]
        outputs = [*pooled, model.get_layer(POOL_LAYER).output, model.get_layer(LOGIT_LAYER).output]
        network = keras.Model(model.inputs, outputs)
        self.names = [*STAGE_LAYERS, "avg_pool", "logit"]
        self.forward = tf.function(lambda batch: network(batch, training=False))

    def prepare(self, data: bytes):
        """(model input, its cell mask or None) of one encoded image, or None when preprocessing finds no cell."""
        from core.errors import PreprocessingError
        from core.imaging.decode import load_image
        from core.imaging.preprocess import model_input_mask, preprocess_cell

        try:
            stages = preprocess_cell(load_image(data).image_rgb, self.loaded.image_size)
        except PreprocessingError:
            return None
        return stages.model_input, model_input_mask(stages, self.loaded.image_size)

    def features(self, sources: list[bytes], batch_size: int = 32) -> dict[str, np.ndarray]:
        """Every feature set of the images preprocessing accepts, by name (rows in order; "refused": how many it did not)."""
        import tensorflow as tf

        from core.imaging.statistics import cell_statistics
        from core.model.network import to_model_array

        prepared = [found for found in (self.prepare(data) for data in sources) if found is not None]
        inputs = np.stack([model_input for model_input, _ in prepared])
        parts: dict[str, list] = {name: [] for name in self.names}
        for start in range(0, len(inputs), batch_size):
            for name, output in zip(self.names, self.forward(tf.constant(to_model_array(inputs[start : start + batch_size])))):
                parts[name].append(np.asarray(output, np.float32))
        cells = {name: np.concatenate(values) for name, values in parts.items()}
        cells["logit"] = cells["logit"].reshape(-1)
        cells["image_stats"] = np.stack([cell_statistics(model_input, mask) for model_input, mask in prepared])
        cells["refused"] = np.asarray(len(sources) - len(prepared))
        return cells


def split_paths(model_path: Path, data_dir: Path) -> dict[str, list[Path]]:
    """{"train": [...], "calibration": [...], "external": [...], "labels_train": [...]} from the model's split CSV."""
    with open(model_path.with_name(model_path.stem + ".split.csv"), newline="") as handle:
        rows = list(csv.DictReader(handle))
    chosen = {side: [data_dir / row["path"] for row in rows if row["side"] == side] for side in ("train", "calibration", "external")}
    chosen["labels_train"] = [row["label"] for row in rows if row["side"] == "train"]
    return chosen


def fpr_at_95_tpr(in_scores: np.ndarray, out_scores: np.ndarray) -> float:
    """The share of in-distribution cells flagged when the threshold flags 95% of the shifted ones (sklearn's ROC)."""
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(np.r_[np.zeros(len(in_scores)), np.ones(len(out_scores))], np.r_[in_scores, out_scores])
    return float(fpr[np.searchsorted(tpr, 0.95, side="left")])


def compare(in_scores: np.ndarray, out_scores: np.ndarray, threshold: float) -> dict:
    from sklearn.metrics import roc_auc_score

    labels = np.r_[np.zeros(len(in_scores)), np.ones(len(out_scores))]
    return {"auroc": round(float(roc_auc_score(labels, np.r_[in_scores, out_scores])), 4),
            "fpr95": round(fpr_at_95_tpr(in_scores, out_scores), 4),
            "flagged": round(float(np.mean(out_scores > threshold)), 4)}


def study(model_path: Path, data_dir: Path, real_cells: Path) -> dict:
    """Every candidate's threshold, external false-flag rate and per-shift AUROC / FPR95 / flagged share."""
    from benchmarks.ood_candidates import candidates
    from benchmarks.ood_shifts import shifted_sources

    from core.imaging.decode import load_image

    extractor = Extractor(model_path)
    paths = split_paths(model_path, data_dir)
    sets = {side: extractor.features([path.read_bytes() for path in paths[side]]) for side in ("train", "calibration", "external")}
    external_rgb = [load_image(path.read_bytes()).image_rgb for path in paths["external"]]
    shifted = {"real_cells": extractor.features([path.read_bytes() for path in sorted(real_cells.glob("*.png"))])}
    shifted.update({name: extractor.features(sources) for name, sources in shifted_sources(external_rgb).items()})
    results = {"cells": {name: int(len(cells["logit"])) for name, cells in {**sets, **shifted}.items()},
               "refused_by_preprocessing": {name: int(cells["refused"]) for name, cells in {**sets, **shifted}.items()},
               "scores": {}}
    for name, score in candidates(sets["train"], np.asarray(paths["labels_train"])).items():
        calibration, external = score(sets["calibration"]), score(sets["external"])
        threshold = float(np.percentile(calibration, FLAG_PERCENTILE))
        results["scores"][name] = {"threshold": threshold, "external_flagged": round(float(np.mean(external > threshold)), 4),
                                   "shifts": {shift: compare(external, score(cells), threshold) for shift, cells in shifted.items()}}
    return results


def table(results: dict) -> str:
    """A Markdown table: per score, AUROC / FPR95 on each shift (strongest strength first per kind) and the external flag rate."""
    shifts = list(next(iter(results["scores"].values()))["shifts"])
    lines = ["| score | external flagged | " + " | ".join(shifts) + " |", "|---" * (len(shifts) + 2) + "|"]
    for name, found in results["scores"].items():
        cells = [f"{found['shifts'][shift]['auroc']:.3f} / {found['shifts'][shift]['fpr95']:.2f}" for shift in shifts]
        lines.append(f"| {name} | {found['external_flagged']:.1%} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def bench_ood_scores(results: dict) -> None:
    """`benchmarks/run.py --only ood_scores`: the study on $LEUKEMIA_OOD_MODEL and $LEUKEMIA_OOD_DATA."""
    model = Path(os.environ.get("LEUKEMIA_OOD_MODEL", ROOT / "models" / "leukemia_resnet50.keras"))
    data = Path(os.environ.get("LEUKEMIA_OOD_DATA", ROOT / "data" / "C-NMC_Leukemia"))
    if not model.with_name(model.stem + ".split.csv").is_file():
        raise SystemExit(f"No split CSV beside {model}: set LEUKEMIA_OOD_MODEL to a trained model and LEUKEMIA_OOD_DATA to its data.")
    found = study(model, data, REAL_CELLS)
    results["ood_scores"] = {"model": str(model), "table": table(found).splitlines(), **found}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="a trained .keras model with its split CSV")
    parser.add_argument("--data-dir", type=Path, required=True, help="the C-NMC_Leukemia folder it was trained on")
    parser.add_argument("--real-cells", type=Path, default=REAL_CELLS, help="folder of real C-NMC PNGs (default: %(default)s)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()[0]
    results = study(args.model, args.data_dir, args.real_cells)
    results["load_average_1min"] = {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)}
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    print(table(results))
    print(json.dumps({name: {key: value for key, value in found.items() if key != "shifts"} for name, found in results["scores"].items()}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
