"""Command line: find the white cells in photos of stained smear fields (no model needed).

    python -m core.cli.find_cells FIELD... --json OUT.json [--out DIR] [--stain-reference CELLS_DIR]

Prints one tab-separated line per field, `file  cells  cut_by_border  red_cell_px`, or
`file  ERROR  reason`. `--json` writes
`[{"file": PATH, "cells": [{"box": [x0, y0, x1, y1], ...}, ...], ...}, ...]`, boxes in the original
photo's pixels (x right, y down, x1 and y1 exclusive), with cells cut by the border listed and
marked (`"cut_by_border": true`), and each cell's nucleus measures with the signs that it is plainly
not lymphoid (`"not_lymphoid"`, `core.imaging.fields.lineage`; the model only judges lymphoid cells). `--out DIR` saves each whole cell on black as
`DIR/<field name>#<k>.png`, in the stain of the cells in `--stain-reference CELLS_DIR` when given
(`core.imaging.stain`, Reinhard normalisation after segmentation; the JSON records the reference). Exit status: 0 when every field was read and holds a whole white cell,
1 when one failed (the others carry on), 2 for usage errors.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

from core.cli.arguments import ArgumentError, RaisingParser
from core.errors import LeukemiaAppError, PreprocessingError
from core.imaging.fields.cells import no_whole_cell_message
from core.imaging.stain import normaliser_from_folder


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parses the command line; raises `ArgumentError` with argparse's message on bad input."""
    parser = RaisingParser(prog="python -m core.cli.find_cells",
                           description="Find the white cells in photos of stained blood smear fields.")
    parser.add_argument("fields", nargs="+", metavar="FIELD", help="photos of smear fields (JPEG, PNG, TIFF, BMP)")
    parser.add_argument("--json", required=True, type=Path, metavar="OUT.json", help="write the boxes found here")
    parser.add_argument("--out", type=Path, metavar="DIR", help="also save each whole cell on black as DIR/<field>#<k>.png")
    parser.add_argument("--stain-reference", type=Path, metavar="CELLS_DIR",
                        help="save the cut-outs in the stain of these cells on black (Reinhard normalisation; e.g. C-NMC cells)")
    return parser.parse_args(argv)


def field_record(path: Path, out_dir: Path | None, normaliser=None) -> dict:
    """One field's JSON record: its cells (boxes in the original photo's pixels) and, with `out_dir`, cut-outs saved.

    Raises:
        LeukemiaAppError: the file cannot be read, or no whole white cell was found in it.
    """
    from core.imaging.fields.crops import cut_out
    from core.imaging.decode import load_image
    from core.imaging.encode import png_bytes
    from core.imaging.fields.cells import looks_like_field, scaled_box
    from core.imaging.fields.finder import find_white_cells
    from core.imaging.fields.lineage import non_lymphoid_reasons

    decoded = load_image(path)
    image_rgb = decoded.image_rgb
    if not looks_like_field(image_rgb):
        raise PreprocessingError(
            f"'{path.name}' has a dark border, like a single segmented cell on black rather than a smear field. "
            "Classify it as a cell with python -m core.predict, or give a photo of a smear field."
        )
    size = decoded.original_size
    found = find_white_cells(image_rgb)
    cells, number = [], 0
    for cell in found.cells:
        record = {"box": list(scaled_box(cell.box, image_rgb.shape[:2], size)), "cut_by_border": cell.cut_by_border,
                  "nucleus_fraction": round(cell.nucleus_fraction, 4), "nucleus_solidity": round(cell.nucleus_solidity, 4),
                  "nucleus_lobes": cell.nucleus_lobes, "not_lymphoid": list(non_lymphoid_reasons(cell))}
        if not cell.cut_by_border:
            number += 1
            record["number"] = number
            if out_dir is not None:
                target = out_dir / f"{path.stem}#{number}.png"
                cell_rgb = cut_out(image_rgb, cell)
                target.write_bytes(png_bytes(cell_rgb if normaliser is None else normaliser.transform(cell_rgb)))
                record["cut_out"] = str(target)
        cells.append(record)
    scale = size[0] / image_rgb.shape[1]
    record = {"file": str(path), "cells": cells, "red_cell_diameter_px": round(found.red_cell_diameter_px * scale, 1)}
    if normaliser is not None and out_dir is not None:
        record["stain_normalised_to"] = normaliser.reference.as_dict()
    return record


def summary_line(record: dict) -> str:
    """`file  cells  cut_by_border  red_cell_px`, tab-separated, or `file  ERROR  reason`."""
    if "error" in record:
        return f"{record['file']}\tERROR\t{record['error']}"
    cut = sum(1 for cell in record["cells"] if cell["cut_by_border"])
    return f"{record['file']}\t{len(record['cells']) - cut}\t{cut}\t{record['red_cell_diameter_px']}"


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit code (0 all found, 1 some field failed, 2 bad arguments)."""
    try:
        args = parse_args(argv)
        if args.out is not None:
            args.out.mkdir(parents=True, exist_ok=True)
        normaliser = normaliser_from_folder(args.stain_reference) if args.stain_reference is not None else None
    except (ArgumentError, LeukemiaAppError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"error: cannot create the folder {args.out}: {error.strerror}", file=sys.stderr)
        return 2
    from core.imaging.fields.lineage import LYMPHOID_ONLY_NOTE

    print(f"note: {LYMPHOID_ONLY_NOTE}", file=sys.stderr)
    records, failed = [], False
    for name in args.fields:
        try:
            record = field_record(Path(name), args.out, normaliser)
        except (LeukemiaAppError, OSError) as error:
            record = {"file": name, "cells": [], "error": str(error)}
        if "error" not in record and not any(not cell["cut_by_border"] for cell in record["cells"]):
            record["error"] = no_whole_cell_message(len(record["cells"]))
        failed = failed or "error" in record
        records.append(record)
        print(summary_line(record), flush=True)
    try:
        args.json.write_text(json.dumps(records, indent=2))
    except OSError as error:
        print(f"error: could not write {args.json}: {error.strerror}", file=sys.stderr)
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
