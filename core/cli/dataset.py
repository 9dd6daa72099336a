"""Command line: summarise a C-NMC_Leukemia folder (counts per split and class, subjects, warnings).

    python -m core.dataset [DATA_DIR] [--json]
"""
from __future__ import annotations

import argparse
import json
import sys

from core.config import default_data_dir
from core.data.index import index_dataset
from core.data.summary import summarize
from core.errors import DatasetError


def format_summary(summary: dict) -> str:
    """A plain-text report: split x label table, subjects, the always-"all" baseline, warnings."""
    columns = ("all", "hem", "unlabeled")
    header = f"{'split':<12}" + "".join(f"{column:>11}" for column in columns) + f"{'total':>9}"
    lines = [f"Dataset: {summary['root']}", "", header]
    for split, counts in summary["images"].items():
        cells = "".join(f"{counts.get(column, 0):>11,}" for column in columns)
        lines.append(f"{split:<12}{cells}{sum(counts.values()):>9,}")
    folds = [counts for split, counts in summary["images"].items() if split.startswith("fold")]
    leukemic, healthy = sum(counts["all"] for counts in folds), sum(counts["hem"] for counts in folds)
    subjects = summary["subjects"]
    lines += ["", f"Training subjects: {subjects['all']} all, {subjects['hem']} hem"]
    if leukemic + healthy:
        baseline = leukemic / (leukemic + healthy)
        lines.append(f"Always-'all' baseline accuracy on the training folds: {baseline:.1%}")
    lines += ["", f"Warnings ({len(summary['warnings'])}):"]
    lines += [f"  - {warning}" for warning in summary["warnings"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: print the summary of a data folder; 2 on a bad folder."""
    parser = argparse.ArgumentParser(prog="python -m core.dataset", description="Index the C-NMC 2019 leukemia dataset on disk (Kaggle layout), without decoding any image.")
    parser.add_argument(
        "data_dir", nargs="?", default=str(default_data_dir()),
        help="the C-NMC_Leukemia folder, its parent or its training_data (default: %(default)s)",
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    arguments = parser.parse_args(argv)
    try:
        summary = summarize(index_dataset(arguments.data_dir))
    except (DatasetError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=2) if arguments.json else format_summary(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
