"""Command line: classify image files with a trained model.

    python -m core.predict --model models/leukemia_resnet50.keras IMAGE_OR_DIR... [--csv FILE] [--tta] [--by-subject]

Prints one tab-separated line per image:

    file  label  P(all)  answer  flags

label is what the threshold gives ("all"/"hem"); answer is "all", "hem" or "refer" (an image out
of scope is referred, not answered); flags names, comma-separated, the limits that apply ("-" when
none): no_model_card (the sidecar is missing or records no threshold), demo_model,
real_cell_on_demo_model, out_of_scope, orientation_unstable (only with --tta, which runs the 8
flips/rotations per image), conformal_refer, seen_in_training (a file listed as "train" in the
split CSV beside the model), out_of_distribution, conformal_empty, threshold_differs. `--csv`
writes the same with the full sentences: file,label,probability_all,answer,conformal_set,ood_score,
out_of_distribution,flags,qualifications,error,field,box,stain (`core.model.assessment`). conformal_set is the
prediction set at the error rate (`all|hem`, `all`, `hem`, or empty for the empty set; blank where
the model has no conformal scores), ood_score the cell's OOD score (`core.model.ood`: its stain and
texture distance to the training cells; for an index built before that, its distance to the known
cells' features; blank without an index), out_of_distribution "yes"/"no" (the score above the
sidecar's threshold; blank without an index), the qualifications saying both numbers. Every answer comes from the one
path of the app (`core.model.answering.answer_cells`), so it is the answer Classify gives. A file
that fails prints `ERROR` and a readable reason on its line and the others carry on. The
exit status is 0 only when every file succeeded (1 when some failed, 2 for usage errors).
`--by-subject` prints one line per subject instead of per image (`core.cli.predict_subjects`).
A photo of a smear field (a light background) is answered per whole white cell found in it, one line
each, `FIELD#k`; field and box (x0 y0 x1 y1, the photo's pixels) fill the CSV's field and box columns.
`--stain-reference CELLS_DIR` moves every cell to those cells' stain first (`core.imaging.stain`,
after segmentation for a field's cells): its lines flag stain_normalised and its CSV rows say "reinhard".
"""
from __future__ import annotations

import argparse
import csv
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator, Sequence

from core import config
from core.cli import predict_subjects
from core.errors import LeukemiaAppError
from core.reporting.spreadsheet import safe_row

if TYPE_CHECKING:  # TensorFlow is imported lazily so `--help` answers at once.
    from core.data.sides import SplitSides
    from core.imaging.stain import ReinhardNormaliser
    from core.model.assessment import Assessment
    from core.model.inference import Classifier

IMAGE_SUFFIXES = {".bmp", ".png", ".jpg", ".jpeg", ".tif", ".tiff"}
CHUNK_SIZE = 32
CSV_COLUMNS = ["file", "label", "probability_all", "answer", "conformal_set", "ood_score", "out_of_distribution",
               "flags", "qualifications", "error", "field", "box", "stain"]


@dataclass(frozen=True)
class FileResult:
    """One line of output: either an assessment (label, P(all), answer, limits), or an error message."""

    path: str
    assessment: Assessment | None = None
    error: str | None = None
    field: str = ""  # For a cell found in a smear field (path `FIELD#k`): the field's path ...
    box: tuple[int, int, int, int] | None = None  # ... and its (x0, y0, x1, y1) there, original pixels.
    stain: str = ""  # "reinhard" when the cell was moved to a reference stain (--stain-reference).

    def line(self) -> str:
        if self.error or self.assessment is None:
            return f"{self.path}\tERROR\t{self.error}"
        from core.model.assessment import flags

        found = self.assessment
        names = [*flags(found), *(["stain_normalised"] if self.stain else [])]
        return f"{self.path}\t{found.label}\t{found.probability_all:.4f}\t{found.answer}\t{','.join(names) or '-'}"

    def row(self) -> list[str]:
        """The CSV row, in `CSV_COLUMNS` order."""
        from core.model.assessment import flags, qualifications
        from core.model.decision import conformal_set_text

        found = self.assessment
        where = [self.field, "" if self.box is None else " ".join(str(edge) for edge in self.box), self.stain]
        if found is None:
            return [self.path, *[""] * (len(CSV_COLUMNS) - 5), self.error or "", *where]
        ood_score = "" if found.ood_score is None else f"{found.ood_score:.6f}"
        ood_flag = "" if found.ood_flag is None else ("yes" if found.ood_flag else "no")
        return [self.path, found.label, f"{found.probability_all:.6f}", found.answer, conformal_set_text(found.prediction_set),
                ood_score, ood_flag, ",".join(flags(found)), " ".join(qualifications(found)), "", *where]


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


def classify_files(classifier: Classifier, paths: Sequence[Path], with_tta: bool = False,
                   sides: SplitSides | None = None, error_rate: float | None = None,
                   normaliser: ReinhardNormaliser | None = None) -> list[FileResult]:
    """Decode, preprocess and scope-check each file (errors kept per file), then answer them all on the one path.

    A smear field (a light background) gives one result per whole white cell found in it, `FIELD#k`,
    with its field and box (`core.cli.field_inputs`); any other image is one cell.

    Without TTA the good files run as float32 batches; with it each file runs its 8 views as one batch.
    """
    from core.cli.field_inputs import prepared_inputs
    from core.imaging.prepare import PreparedCell
    from core.model.answering import answer_cells

    results: list[FileResult] = []
    prepared: list[tuple[int, PreparedCell]] = []  # (position in results, the cell before the model)
    for path in paths:
        try:
            inputs = prepared_inputs(path, classifier.image_size, normaliser)  # One cell, or each whole cell of a field.
        except LeukemiaAppError as error:
            results.append(FileResult(str(path), error=str(error)))
            continue
        for item in inputs:
            prepared.append((len(results), item.cell))
            results.append(FileResult(item.name, field=item.field, box=item.box, stain=item.stain))
    cell_sides = [sides.side_of(results[position].path) if sides is not None else None for position, _ in prepared]
    answered = answer_cells(classifier, [cell for _, cell in prepared], error_rate, cell_sides, with_tta=with_tta)
    for (position, _), (_, assessment) in zip(prepared, answered):
        results[position] = replace(results[position], assessment=assessment)
    return results


def error_rate(text: str) -> float:
    """An argparse type: a conformal error rate within `config.ERROR_RATE_RANGE`, both ends included."""
    value = float(text)
    low, high = config.ERROR_RATE_RANGE
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"must be between {low} and {high} (e.g. 0.05 for 5%%), got {value}")
    return value


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m core.predict", description="Classify cell images as ALL or healthy (research use only).")
    parser.add_argument("inputs", nargs="+", metavar="IMAGE_OR_DIR", help="image files or folders of images")
    parser.add_argument("--model", default=str(config.default_model_path()), help="the .keras model (default: %(default)s)")
    parser.add_argument("--csv", metavar="FILE", help="also write the results to this CSV file")
    parser.add_argument("--tta", action="store_true", help="also run the 8 flips/rotations of each image (flags orientation_unstable)")
    parser.add_argument("--by-subject", action="store_true",
                        help="one line per subject (C-NMC subject from the file name, else the folder) instead of per image; see core/cli/predict_subjects.py")
    parser.add_argument("--error-rate", type=error_rate, metavar="ALPHA",
                        help="conformal error rate for 'refer', e.g. 0.05 (default: the model card's, 5%%)")
    parser.add_argument("--stain-reference", metavar="CELLS_DIR",
                        help="move each cell (a field's after segmentation) to the stain of these cells on black "
                             "(Reinhard normalisation; flags stain_normalised)")
    return parser.parse_args(argv)


def write_csv(path: Path, results: Sequence[FileResult]) -> None:
    """file,label,probability_all,answer,flags,qualifications,error: one row per input file, formula-safe cells."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for result in results:
            writer.writerow(safe_row(result.row()))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    from core.data.sides import SplitSides
    from core.model.inference import Classifier
    from core.model.store import load_classifier

    from core.imaging.stain import normaliser_from_folder

    try:
        normaliser = normaliser_from_folder(args.stain_reference) if args.stain_reference else None
        classifier = Classifier(load_classifier(args.model))
    except LeukemiaAppError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    results: list[FileResult] = []
    sides = SplitSides.load(args.model)
    for chunk in chunks(expand_inputs(args.inputs), CHUNK_SIZE):
        for result in classify_files(classifier, chunk, args.tta, sides, args.error_rate, normaliser):
            if result.error or not args.by_subject:
                print(result.line(), flush=True)
            results.append(result)
    if not results:
        print("error: no image files found in the given paths.", file=sys.stderr)
        return 1
    if any(result.field for result in results):
        from core.imaging.fields.lineage import LYMPHOID_ONLY_NOTE

        print(f"note: {LYMPHOID_ONLY_NOTE}", file=sys.stderr)
    answers = predict_subjects.answer_subjects(results, classifier) if args.by_subject else None
    is_demo = bool(classifier.loaded.metadata.get("is_demo"))
    if args.by_subject:
        for note in predict_subjects.mixed_folder_notes([result.path for result in results]):
            print(note, file=sys.stderr)
    for answer in answers or []:
        print(predict_subjects.subject_line(answer, is_demo), flush=True)
    if args.csv:
        try:
            if answers is None:
                write_csv(Path(args.csv), results)
            else:
                predict_subjects.write_csv(Path(args.csv), results, answers, CSV_COLUMNS, is_demo)
        except OSError as error:
            print(f"error: could not write {args.csv}: {error.strerror}", file=sys.stderr)
            return 1
    return 0 if all(result.error is None for result in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
