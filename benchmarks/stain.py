"""What stain normalisation does to real cells from other labs, under a given model: their stain, OOD score and answers.

    python benchmarks/stain.py --model models/leukemia_resnet50.keras [--every 2]
    python benchmarks/run.py --only stain

Two sets of real cells: the 251 C-NMC cells of shared/data/real_cells (C-NMC's own stain, one cell on
black) and the whole white cells found in every `every`-th BCCD smear field of shared/data/bccd
(another lab, another stain: cut out on black by `core.imaging.image_cells`). Each cell is answered
twice through the one answering path (`core.model.answering.answer_cells`, 5% error rate): as it
is, and moved to the model's training stain (Reinhard, `core.imaging.stain`, the reference from the
model's sidecar). Printed per set: the cells' distance to the reference stain (L*a*b* mean, 8-bit
units), the OOD score's median against its threshold and the share flagged out of distribution,
and how many answers change. Neither set has labels this model can be judged on (BCCD's cells are
not ALL/healthy; 251 cells are far too few): nothing here is a measure of accuracy, and under the
synthetic demo model every answer on a real cell means nothing.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

if not __package__:
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from benchmarks.common import ROOT  # noqa: E402

BCCD = ROOT.parent / "shared" / "data" / "bccd"
REAL_CELLS = ROOT.parent / "shared" / "data" / "real_cells"
ERROR_RATE = 0.05


def cells_of(paths: list[Path], image_size: int, normaliser) -> list:
    """Every cell of the files (one, or a field's whole white cells), prepared, with or without normalisation."""
    from core.errors import LeukemiaAppError
    from core.imaging.decode import load_image
    from core.imaging.image_cells import cells_of_image

    found = []
    for path in paths:
        try:
            found += cells_of_image(load_image(path), image_size, normaliser)[0]
        except LeukemiaAppError:
            continue
    return found


def stain_distance(cells: list, reference) -> np.ndarray:
    """(N,) Euclidean distance of each cell's L*a*b* mean (over its pixels on black) to the reference mean."""
    from core.imaging.stain import stain_stats

    means = np.array([stain_stats([cell.cell_rgb]).mean for cell in cells])
    return np.linalg.norm(means - np.array(reference.mean), axis=1)


def measure_set(classifier, paths: list[Path], normaliser) -> dict:
    """Each cell answered as it is and moved to the model's stain: distances, OOD scores, answers."""
    from core.model.answering import answer_cells

    size = classifier.image_size
    plain, moved = cells_of(paths, size, None), cells_of(paths, size, normaliser)
    if len(plain) != len(moved):
        raise RuntimeError("normalisation changed which cells were found; it runs after segmentation")
    out = {"cells": len(plain)}
    for name, cells in (("as_is", plain), ("normalised", moved)):
        answers = [assessment for _, assessment in answer_cells(classifier, [cell.cell for cell in cells], ERROR_RATE)]
        scores = np.array([np.nan if a.ood_score is None else a.ood_score for a in answers], dtype=float)
        out[name] = {"stain_distance_median": round(float(np.median(stain_distance(cells, normaliser.reference))), 2),
                     "ood_score_median": round(float(np.nanmedian(scores)), 2),
                     "ood_flagged": int(sum(bool(a.ood_flag) for a in answers)),
                     "answers": [a.answer for a in answers], "p_all": [a.probability_all for a in answers]}
    before, after = out["as_is"].pop("answers"), out["normalised"].pop("answers")
    p_before, p_after = np.array(out["as_is"].pop("p_all")), np.array(out["normalised"].pop("p_all"))
    out["answers_changed"] = int(sum(a != b for a, b in zip(before, after)))
    out["median_abs_delta_p_all"] = round(float(np.median(np.abs(p_after - p_before))), 4)
    out["ood_threshold"] = classifier.evidence.ood_threshold
    return out


def bench_stain(results: dict, model: Path | None = None, every: int = 2) -> None:
    """The stain section of `benchmarks/run.py`."""
    from core import config
    from core.imaging.stain import ReinhardNormaliser, model_reference
    from core.model.inference import Classifier
    from core.model.store import load_classifier

    path = Path(model or config.default_model_path())
    if not path.is_file() or not REAL_CELLS.is_dir() or not (BCCD / "JPEGImages").is_dir():
        results["stain"] = {"skipped": f"needs a model ({path}) and shared/data (real_cells, bccd)"}
        return
    classifier = Classifier(load_classifier(path))
    reference = model_reference(classifier.loaded.metadata)
    if reference is None:
        results["stain"] = {"skipped": f"{path.name}'s sidecar records no training stain: python -m core.cli.index"}
        return
    normaliser = ReinhardNormaliser(reference)
    real = sorted(p for p in REAL_CELLS.iterdir() if p.suffix.lower() in {".png", ".bmp", ".jpg"})
    fields = sorted((BCCD / "JPEGImages").glob("*.jpg"))[::every]
    results["stain"] = {"model": path.name, "is_demo": bool(classifier.loaded.metadata.get("is_demo")),
                        "real_cnmc_cells": measure_set(classifier, real, normaliser),
                        "bccd_field_cells": measure_set(classifier, fields, normaliser),
                        "bccd_fields": len(fields), "error_rate": ERROR_RATE}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path)
    parser.add_argument("--every", type=int, default=2, help="use every N-th BCCD field (default 2: 100 fields)")
    args = parser.parse_args(argv)
    results: dict = {}
    bench_stain(results, args.model, args.every)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
