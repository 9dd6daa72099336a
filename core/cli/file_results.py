"""One input file of `python -m core.predict` -> its result lines and CSV rows, whatever engine ran it.

`classify_files` is the local engine's path (decode, preprocess, scope-check, then `answer_cells`);
`FileResult.line` and `FileResult.row` are the one way a result is printed and written, by the
local engine and by the Ray engine (`core.cli.ray_engine`) alike.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator, Sequence

from core.errors import LeukemiaAppError
from core.imaging.image_cells import box_text
from core.reporting.spreadsheet import safe_row

if TYPE_CHECKING:  # TensorFlow is imported lazily so `--help` answers at once.
    from core.data.sides import SplitSides
    from core.imaging.prepare import PreparedCell
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
        where = [self.field, box_text(self.box), self.stain]
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


# One result before the model: its FileResult (an error, or a cell's name, field, box and stain) and the
# cell it names, ready for the model; None for an error.
Pending = tuple[FileResult, "PreparedCell | None"]


def prepare_file(path: Path, image_size: int, normaliser: ReinhardNormaliser | None = None) -> list[Pending]:
    """Decode one file and prepare its cell, or each whole white cell of a field (`core.cli.field_inputs`).

    A file that cannot be read, or holds no cell, is one error result (its reason for people), never an exception.
    """
    from core.cli.field_inputs import prepared_inputs

    try:
        inputs = prepared_inputs(path, image_size, normaliser)  # One cell, or each whole cell of a field.
    except LeukemiaAppError as error:
        return [(FileResult(str(path), error=str(error)), None)]
    return [(FileResult(item.name, field=item.field, box=item.box, stain=item.stain), item.cell) for item in inputs]


def answer_pending(classifier: Classifier, pending: Sequence[Pending], with_tta: bool = False,
                   sides: SplitSides | None = None, error_rate: float | None = None) -> list[FileResult]:
    """Every prepared cell answered in one call of the one path (`answer_cells`); error results pass unchanged, in order.

    Without TTA the cells run as float32 batches; with it each cell runs its 8 views as one batch.
    """
    from core.model.answering import answer_cells

    results = [result for result, _ in pending]
    positions = [position for position, (_, cell) in enumerate(pending) if cell is not None]
    cell_sides = [sides.side_of(results[position].path) if sides is not None else None for position in positions]
    answered = answer_cells(classifier, [pending[position][1] for position in positions], error_rate, cell_sides,
                            with_tta=with_tta)
    for position, (_, assessment) in zip(positions, answered):
        results[position] = replace(results[position], assessment=assessment)
    return results


def classify_files(classifier: Classifier, paths: Sequence[Path], with_tta: bool = False,
                   sides: SplitSides | None = None, error_rate: float | None = None,
                   normaliser: ReinhardNormaliser | None = None) -> list[FileResult]:
    """Decode, preprocess and scope-check each file (errors kept per file), then answer them all on the one path.

    A smear field (a light background) gives one result per whole white cell found in it, `FIELD#k`,
    with its field and box (`core.cli.field_inputs`); any other image is one cell.
    """
    pending = [item for path in paths for item in prepare_file(path, classifier.image_size, normaliser)]
    return answer_pending(classifier, pending, with_tta, sides, error_rate)


def write_csv(path: Path, results: Sequence[FileResult]) -> None:
    """file,label,probability_all,answer,flags,qualifications,error: one row per input file, formula-safe cells."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for result in results:
            writer.writerow(safe_row(result.row()))
