"""White cells found in real smear fields (BCCD), against the reference boxes, and the time per field.

    python benchmarks/run.py --only fields
    python benchmarks/fields.py [--bccd ../shared/data/bccd] [--every 1]

Recall and precision count found cells against BCCD's WBC boxes at IoU >= 0.5, greedy one-to-one
matching (`core.reporting.detection`), two ways:
- all: every cell found (those cut by the image border included) against every WBC box;
- whole: the cells found wholly inside the field (the ones cut out and classified) against the
  WBC boxes that do not touch the field's edge (within `EDGE_PX`); a cell cut by the border is
  left out on both sides.
Time is `find_white_cells` per 640x480 field, decoded beforehand (median and maximum), and once for a
field enlarged to 4000 x 3000 px. The cut-outs go through `prepare_cell` like any cell: the share
with no scope finding is printed beside the same share for the real C-NMC cells of shared/data/real_cells.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

if not __package__:
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from benchmarks.common import ROOT  # noqa: E402

BCCD = ROOT.parent / "shared" / "data" / "bccd"
REAL_CELLS = ROOT.parent / "shared" / "data" / "real_cells"
RECALL_GOAL, PRECISION_GOAL, SECONDS_GOAL = 0.95, 0.90, 0.5
EDGE_PX = 2  # A reference box this close to the field's edge counts as cut by the border.


def _inside(box: tuple[int, int, int, int], width: int, height: int) -> bool:
    return box[0] > EDGE_PX and box[1] > EDGE_PX and box[2] < width - EDGE_PX and box[3] < height - EDGE_PX


def measure_fields(bccd: Path, every: int = 1) -> dict:
    """Match the cells found in every `every`-th BCCD field against its WBC boxes; time each field."""
    from core.errors import LeukemiaAppError
    from core.imaging.decode import load_image
    from core.imaging.fields.finder import find_white_cells
    from core.reporting.detection import MatchCounts, greedy_match, voc_boxes

    totals = {"all": MatchCounts(0, 0, 0), "whole": MatchCounts(0, 0, 0)}
    seconds, refused, misses = [], [], []
    for path in sorted((bccd / "JPEGImages").glob("*.jpg"))[::every]:
        image_rgb = load_image(path).image_rgb
        height, width = image_rgb.shape[:2]
        reference = voc_boxes(bccd / "Annotations" / f"{path.stem}.xml")
        start = time.perf_counter()
        try:
            found = find_white_cells(image_rgb)
        except LeukemiaAppError as error:
            refused.append(f"{path.name}: {error}")
            totals["all"] += MatchCounts(0, len(reference), 0)
            continue
        seconds.append(time.perf_counter() - start)
        counts = greedy_match([cell.box for cell in found.cells], reference)
        totals["all"] += counts
        totals["whole"] += greedy_match([cell.box for cell in found.whole_cells],
                                        [box for box in reference if _inside(box, width, height)])
        if counts.missed or counts.false_found:
            misses.append(f"{path.stem}: missed {counts.missed}, false {counts.false_found}")
    return {"fields": len(seconds) + len(refused), "totals": totals, "seconds": seconds, "refused": refused, "misses": misses}


def cut_out_scope(bccd: Path, every: int = 4) -> dict:
    """The share of cut-outs (every `every`-th field) and of real C-NMC cells that `prepare_cell` finds in scope."""
    from core.imaging.decode import load_image
    from core.imaging.fields.cells import field_cells
    from core.imaging.prepare import prepare_cell

    cut_outs = []
    for path in sorted((bccd / "JPEGImages").glob("*.jpg"))[::every]:
        try:
            cut_outs += [cell.cell_rgb for cell in field_cells(load_image(path).image_rgb)[0]]
        except Exception:  # A field without a whole cell has no cut-out to check.
            continue
    real = [load_image(path).image_rgb for path in sorted(REAL_CELLS.glob("*.png"))]

    def in_scope(images: list[np.ndarray]) -> float:
        return round(float(np.mean([not prepare_cell(image, 224).scope_reasons for image in images])), 3) if images else float("nan")

    return {"cut_outs": len(cut_outs), "cut_outs_in_scope": in_scope(cut_outs), "real_cells": len(real), "real_cells_in_scope": in_scope(real)}


def large_field_seconds(bccd: Path) -> float:
    """`find_white_cells` on the first BCCD field enlarged to 4000 x 3000 px (shrunk to 2048 px inside)."""
    import cv2

    from core.imaging.decode import load_image
    from core.imaging.fields.finder import find_white_cells

    field = load_image(sorted((bccd / "JPEGImages").glob("*.jpg"))[0]).image_rgb
    large = cv2.resize(field, (4000, 3000), interpolation=cv2.INTER_LINEAR)
    start = time.perf_counter()
    find_white_cells(large)
    return time.perf_counter() - start


def bench_fields(results: dict, bccd: Path = BCCD, every: int = 1) -> None:
    """The fields section of `benchmarks/run.py`: recall, precision, seconds per field, cut-outs in scope."""
    if not (bccd / "JPEGImages").is_dir():
        results["fields"] = {"skipped": f"{bccd} is missing (the shared BCCD fields)"}
        return
    measured = measure_fields(bccd, every)
    seconds = np.array(measured["seconds"])
    section: dict = {"fields": measured["fields"], "refused": measured["refused"]}
    for name, counts in measured["totals"].items():
        section[name] = {"matched": counts.matched, "missed": counts.missed, "false_found": counts.false_found,
                         "recall": round(counts.recall, 3), "precision": round(counts.precision, 3)}
    whole = measured["totals"]["whole"]
    section["goals"] = (f"recall >= {RECALL_GOAL} ({'met' if whole.recall >= RECALL_GOAL else 'not met'}), "
                        f"precision >= {PRECISION_GOAL} ({'met' if whole.precision >= PRECISION_GOAL else 'not met'}), "
                        f"<= {SECONDS_GOAL} s per field ({'met' if np.median(seconds) <= SECONDS_GOAL else 'not met'})")
    section["seconds_per_field"] = {"median": round(float(np.median(seconds)), 4), "max": round(float(seconds.max()), 4)}
    section["seconds_4000x3000"] = round(large_field_seconds(bccd), 3)
    section["scope_of_cut_outs"] = cut_out_scope(bccd)
    section["misses"] = measured["misses"]
    results["fields"] = section


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bccd", type=Path, default=BCCD)
    parser.add_argument("--every", type=int, default=1, help="use every N-th field (default: all)")
    args = parser.parse_args()
    results: dict = {}
    bench_fields(results, args.bccd, args.every)
    print(json.dumps(results["fields"], indent=2))
