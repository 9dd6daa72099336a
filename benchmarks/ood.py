"""How the OOD score behaves on a trained model: held-out cells, hostile-but-valid images, real cells.

    python benchmarks/ood.py --model /tmp/emb/model.keras --data-dir /tmp/emb/data/C-NMC_Leukemia \
        [--real-cells ../shared/data/real_cells] [--hostile-each 10]

Every image goes through the app's path: `core.imaging.decode.load_image` on the file's bytes,
`core.imaging.preprocess.preprocess_cell`, then `Classifier.features_and_probabilities`; its OOD
score is the model's (`ModelEvidence.ood_scores`: the stain and texture distance, or an older index's
k-NN distance), flagged when it exceeds the sidecar's "ood_threshold". An image that preprocessing
refuses (no cell found) is counted as refused, not as scored. Prints one JSON object.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from pathlib import Path

import cv2
import numpy as np

if not __package__:
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from benchmarks.common import ROOT  # noqa: E402

REAL_CELLS = ROOT.parent / "shared" / "data" / "real_cells"
SIDE = 450  # C-NMC images are 450 x 450.


def png_bytes(image_rgb: np.ndarray) -> bytes:
    return cv2.imencode(".png", np.ascontiguousarray(image_rgb[:, :, ::-1]))[1].tobytes()


def noise(rng: np.random.Generator) -> np.ndarray:
    return rng.integers(0, 256, (SIDE, SIDE, 3), dtype=np.uint8)


def gradient(rng: np.random.Generator) -> np.ndarray:
    """A plain diagonal ramp between two random colours."""
    ramp = (np.add.outer(np.arange(SIDE), np.arange(SIDE)) / (2 * SIDE - 2))[:, :, None]
    start, end = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    return (start + ramp * (end - start)).astype(np.uint8)


def photo_like(rng: np.random.Generator) -> np.ndarray:
    """A smooth colourful scene: sky, a sun, hills and a lake, blurred."""
    image = gradient(rng) // 2 + np.array([60, 90, 120], np.uint8)
    sun = tuple(int(v) for v in rng.integers(60, 390, 2))
    cv2.circle(image, sun, int(rng.integers(25, 60)), (250, 210, 80), -1)
    for _ in range(3):
        centre = (int(rng.integers(0, SIDE)), int(rng.integers(260, 420)))
        cv2.ellipse(image, centre, (int(rng.integers(120, 260)), int(rng.integers(40, 120))), 0, 180, 360,
                    tuple(int(v) for v in rng.integers([20, 90, 20], [90, 180, 90])), -1)
    image[380:] = (40, 90, 160)
    return cv2.GaussianBlur(image, (0, 0), 3)


def smear(rng: np.random.Generator, cells: list[np.ndarray]) -> np.ndarray:
    """A blood-smear-like field: pale background, many red cells, a few stained white cells pasted in."""
    image = np.full((SIDE * 2, SIDE * 2, 3), (236, 218, 222), np.uint8)
    for _ in range(120):
        centre = tuple(int(v) for v in rng.integers(0, SIDE * 2, 2))
        radius = int(rng.integers(28, 40))
        cv2.circle(image, centre, radius, (214, 140, 150), -1)
        cv2.circle(image, centre, radius // 2, (228, 170, 178), -1)
    for cell in cells:
        small = cv2.resize(cell, (180, 180))
        top, left = (int(v) for v in rng.integers(0, SIDE * 2 - 180, 2))
        region = image[top : top + 180, left : left + 180]
        region[small.max(axis=2) > 0] = small[small.max(axis=2) > 0]
    return cv2.GaussianBlur(image, (0, 0), 1.2)


def grayscale(image_rgb: np.ndarray) -> np.ndarray:
    return np.repeat(cv2.cvtColor(image_rgb, cv2.COLOR_RGB2GRAY)[:, :, None], 3, axis=2)


class Scorer:
    """Decode, preprocess, one paired pass, OOD score against the sidecar's threshold."""

    def __init__(self, model_path: Path) -> None:
        from core.model.embedding import EmbeddingIndex
        from core.model.inference import Classifier
        from core.model.store import load_classifier

        loaded = load_classifier(model_path)
        self.entry = loaded.metadata["embedding_index"]
        self.classifier = Classifier(loaded)
        self.index = EmbeddingIndex.load(model_path.with_name(self.entry["file"]), dimensions=self.entry["dimensions"])

    def score(self, data: bytes) -> float | None:
        """The OOD score of one encoded image, or None when preprocessing finds no cell."""
        from core.errors import PreprocessingError
        from core.imaging.decode import load_image
        from core.imaging.preprocess import preprocess_cell
        from core.imaging.statistics import statistics_of

        try:
            stages = preprocess_cell(load_image(data).image_rgb, self.classifier.image_size)
        except PreprocessingError:
            return None
        features, _ = self.classifier.features_and_probabilities(stages.model_input[None])
        neighbour = self.index.ood_score(features[0], self.entry["ood_k"])
        return self.classifier.evidence.ood_scores([statistics_of(stages)], [neighbour])[0]  # the model's own score

    def summary(self, sources: list[bytes]) -> dict:
        scores = [self.score(data) for data in sources]
        scored = np.array([s for s in scores if s is not None])
        flagged = int((scored > self.entry["ood_threshold"]).sum())
        return {"images": len(sources), "refused_by_preprocessing": len(sources) - len(scored), "flagged_ood": flagged,
                "flagged_share_of_scored": round(flagged / max(len(scored), 1), 4),
                "median_score": round(float(np.median(scored)), 4) if len(scored) else None,
                "p95_score": round(float(np.percentile(scored, 95)), 4) if len(scored) else None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True, help="a trained .keras model with its index")
    parser.add_argument("--data-dir", type=Path, required=True, help="the C-NMC_Leukemia folder it was trained on")
    parser.add_argument("--real-cells", type=Path, default=REAL_CELLS, help="folder of real C-NMC PNGs (default: %(default)s)")
    parser.add_argument("--hostile-each", type=int, default=10, help="images of each hostile kind (default: %(default)s)")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()[0]
    scorer = Scorer(args.model)
    with open(args.model.with_name(args.model.stem + ".split.csv"), newline="") as handle:
        external = [args.data_dir / row["path"] for row in csv.DictReader(handle) if row["side"] == "external"]
    rng = np.random.default_rng(0)
    cells_rgb = [cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB) for path in external[: args.hostile_each * 4]]
    count = args.hostile_each
    hostile = {
        "random_noise": [noise(rng) for _ in range(count)],
        "plain_gradient": [gradient(rng) for _ in range(count)],
        "photo_like": [photo_like(rng) for _ in range(count)],
        "grayscale_synthetic_cell": [grayscale(cell) for cell in cells_rgb[:count]],
        "smear_many_cells": [smear(rng, cells_rgb[4 * n : 4 * n + 4]) for n in range(count)],
    }
    real = sorted(args.real_cells.glob("*.png"))
    results = {
        "threshold": scorer.entry["ood_threshold"], "ood_score": scorer.entry.get("ood_score", "k-NN distance"),
        "indexed_cells": len(scorer.index),
        "external_synthetic": scorer.summary([path.read_bytes() for path in external]),
        "hostile": {kind: scorer.summary([png_bytes(image) for image in images]) for kind, images in hostile.items()},
        "real_cells": scorer.summary([path.read_bytes() for path in real]),
        "load_average_1min": {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)},
    }
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
