"""Command line: write a synthetic C-NMC_Leukemia dataset.

    python -m core.synthetic OUT_DIR [--subjects N] [--images-per-subject M] [--seed S] [--overwrite]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from core.cli.arguments import ArgumentError, RaisingParser
from core.data.summary import count_images
from core.data.synthetic import generate_dataset
from core.errors import LeukemiaAppError


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parses the command line; raises `ArgumentError` with argparse's message on bad input."""
    parser = RaisingParser(prog="python -m core.synthetic",
                           description="Write a synthetic C-NMC_Leukemia dataset (segmented cell BMPs).")
    parser.add_argument("out_dir", type=Path, help="parent folder; C-NMC_Leukemia is created inside")
    parser.add_argument("--subjects", type=int, default=24, help="training subjects, at least 4 (default: 24)")
    parser.add_argument("--images-per-subject", type=int, default=20,
                        help="mean cells per subject, +-20%% (default: 20)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing non-empty C-NMC_Leukemia folder")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit code (0 ok, 1 cannot write, 2 bad arguments)."""
    try:
        args = parse_args(argv)
        started = time.perf_counter()
        root = generate_dataset(args.out_dir, subjects=args.subjects, seed=args.seed,
                                images_per_subject=args.images_per_subject, overwrite=args.overwrite)
    except LeukemiaAppError as error:  # Checked first: DatasetError is also a ValueError.
        print(f"error: {error}", file=sys.stderr)
        return 1
    except (ArgumentError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"error: cannot write the dataset under {args.out_dir}: {error}", file=sys.stderr)
        return 1
    seconds = time.perf_counter() - started
    counts = count_images(root)
    total = sum(counts.values())
    print(f"Wrote {total} images to {root}: training {counts['train_all']} all + {counts['train_hem']} hem "
          f"from {args.subjects} subjects in 3 folds, validation {counts['validation']} (labelled), "
          f"test {counts['test']} (unlabelled); {seconds:.1f} s, {total / seconds:.0f} images/s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
