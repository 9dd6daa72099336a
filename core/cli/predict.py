"""Command line: classify image files with a trained model.

    python -m core.predict --model models/leukemia_resnet50.keras IMAGE_OR_DIR... [--csv FILE]

Prints one tab-separated line per image: file, label ("all"/"hem") and P(all). A file
that fails prints `ERROR` and a readable reason on its line and the others carry on. The
exit status is 0 only when every file succeeded (1 when some failed, 2 for usage errors).
"""
from __future__ import annotations

import argparse
import csv
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator, Sequence

from core import config
from core.errors import LeukemiaAppError

if TYPE_CHECKING:  # TensorFlow is imported lazily so `--help` answers at once.
    from core.model.inference import Classifier

IMAGE_SUFFIXES = {".bmp", ".png", ".jpg", ".jpeg", ".tif", ".tiff"}
CHUNK_SIZE = 32


@dataclass(frozen=True)
class FileResult:
    """One line of output: either a label and probability, or an error message."""

    path: str
    label: str | None = None
    probability_all: float | None = None
    error: str | None = None

    def line(self) -> str:
        if self.error:
            return f"{self.path}\tERROR\t{self.error}"
        return f"{self.path}\t{self.label}\t{self.probability_all:.4f}"


def expand_inputs(inputs: Iterable[str]) -> Iterator[Path]:
    """Files as given, and the image files inside given folders (recursively, sorted)."""
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        else:
            yield path


def chunks(items: Iterable[Path], size: int) -> Iterator[list[Path]]:
    """Consecutive lists of at most `size` items."""
    chunk: list[Path] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def classify_files(classifier: Classifier, paths: Sequence[Path]) -> list[FileResult]:
    """Decode and preprocess each file (errors kept per file), then classify the good ones in one batch."""
    import numpy as np

    from core.imaging.decode import load_image
    from core.imaging.preprocess import model_input_for

    results: list[FileResult | None] = []
    inputs, positions = [], []
    for path in paths:
        try:
            inputs.append(model_input_for(load_image(path).image_rgb, classifier.image_size))
            positions.append(len(results))
            results.append(None)
        except LeukemiaAppError as error:
            results.append(FileResult(str(path), error=str(error)))
    if inputs:
        for position, probability in zip(positions, classifier.probabilities(np.stack(inputs))):
            prediction = classifier.decide(float(probability))
            results[position] = FileResult(str(paths[position]), prediction.label, prediction.probability_all)
    return [result for result in results if result is not None]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m core.predict", description="Classify cell images as ALL or healthy (research use only).")
    parser.add_argument("inputs", nargs="+", metavar="IMAGE_OR_DIR", help="image files or folders of images")
    parser.add_argument("--model", default=str(config.default_model_path()), help="the .keras model (default: %(default)s)")
    parser.add_argument("--csv", metavar="FILE", help="also write the results to this CSV file")
    return parser.parse_args(argv)


def write_csv(path: Path, results: Sequence[FileResult]) -> None:
    """file,label,probability_all,error: one row per input file."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "label", "probability_all", "error"])
        for result in results:
            probability = "" if result.probability_all is None else f"{result.probability_all:.6f}"
            writer.writerow([result.path, result.label or "", probability, result.error or ""])


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    from core.model.inference import Classifier
    from core.model.store import load_classifier

    try:
        classifier = Classifier(load_classifier(args.model))
    except LeukemiaAppError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    results: list[FileResult] = []
    for chunk in chunks(expand_inputs(args.inputs), CHUNK_SIZE):
        for result in classify_files(classifier, chunk):
            print(result.line(), flush=True)
            results.append(result)
    if not results:
        print("error: no image files found in the given paths.", file=sys.stderr)
        return 1
    if args.csv:
        try:
            write_csv(Path(args.csv), results)
        except OSError as error:
            print(f"error: could not write {args.csv}: {error.strerror}", file=sys.stderr)
            return 1
    return 0 if all(result.error is None for result in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
