"""`python -m core.predict --by-subject`: one answer per subject from the answers about its cells.

A file named like C-NMC's training cells (`UID_{subject}_{image}_{cell}_{class}.bmp`) belongs to
that subject; any other file to its folder (named by the folder's name, or by its path where two
folders share a name). Each subject is answered by `core.model.patient.answer_subject` (mean
log-odds of the usable cells, a 95% bootstrap interval over them; refer and out-of-scope cells are
counted and left out). Files that failed keep their own ERROR line and count for no subject.

Printed, tab-separated, one line per subject:

    subject  answer  score  interval  cells

answer is "all", "hem" or "refer" (no usable cell); score and interval are "-" without usable
cells; cells reads "used=N,referred=N,out_of_scope=N". `--csv` writes one file holding both
levels: level ("cell" or "subject"), subject, then the cell columns of `core.predict`, then
score, interval_low, interval_high, cells_used, cells_referred, cells_out_of_scope (empty on cell rows).
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, Sequence

from core.data.names import parse_training_name
from core.model import patient

if TYPE_CHECKING:
    from core.model.inference import Classifier


class FileResult(Protocol):
    """What `core.cli.predict.FileResult` offers here (named structurally: that module imports this one)."""

    path: str
    assessment: Any

    def row(self) -> list[str]:
        """The per-image CSV row."""


SUBJECT_COLUMNS = ["score", "interval_low", "interval_high", "cells_used", "cells_referred", "cells_out_of_scope"]


def subject_names(paths: Sequence[str]) -> list[str]:
    """Each file's subject: the C-NMC subject of its name, else its folder's name (its path where names clash)."""
    folders: dict[str, set[Path]] = {}
    for path in paths:
        folders.setdefault(Path(path).parent.name, set()).add(Path(path).parent)
    names = []
    for path in paths:
        try:
            names.append(parse_training_name(Path(path).name)[0])
        except ValueError:
            parent = Path(path).parent
            names.append(parent.name if parent.name and len(folders[parent.name]) == 1 else str(parent))
    return names


def answer_subjects(results: Sequence[FileResult], classifier: Classifier) -> list[patient.SubjectAnswer]:
    """One `SubjectAnswer` per subject, in order of first appearance; failed files are left out."""
    calibration = classifier.evidence.calibration
    temperature = calibration.temperature if calibration is not None else None
    grouped: dict[str, list] = {}
    for result, subject in zip(results, subject_names([result.path for result in results])):
        if result.assessment is not None:
            grouped.setdefault(subject, []).append(result.assessment)
    return [patient.answer_subject(subject, assessments, classifier.loaded.threshold, temperature=temperature)
            for subject, assessments in grouped.items()]


def subject_line(answer: patient.SubjectAnswer) -> str:
    """subject, answer, score, interval and cell counts, tab-separated."""
    score = "-" if answer.score is None else f"{answer.score:.4f}"
    interval = "-" if answer.interval is None else f"{answer.interval[0]:.4f}-{answer.interval[1]:.4f}"
    cells = f"used={answer.cells_used},referred={answer.cells_referred},out_of_scope={answer.cells_out_of_scope}"
    return f"{answer.subject}\t{answer.answer}\t{score}\t{interval}\t{cells}"


def subject_row(answer: patient.SubjectAnswer, cell_columns: int) -> list[str]:
    """The CSV row of one subject: its answer in the cell columns' "answer", the rest in SUBJECT_COLUMNS."""
    cells = [""] * cell_columns
    cells[3] = answer.answer  # core.predict's columns: file, label, probability_all, answer, ...
    low, high = answer.interval or ("", "")
    score = "" if answer.score is None else f"{answer.score:.6f}"
    bounds = [f"{value:.6f}" if value != "" else "" for value in (low, high)]
    return ["subject", answer.subject, *cells, score, *bounds,
            str(answer.cells_used), str(answer.cells_referred), str(answer.cells_out_of_scope)]


def write_csv(path: Path, results: Sequence[FileResult], answers: Sequence[patient.SubjectAnswer],
              cell_columns: Sequence[str]) -> None:
    """Cell rows (every file, failed ones with their error) then subject rows, in one CSV."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["level", "subject", *cell_columns, *SUBJECT_COLUMNS])
        for result, subject in zip(results, subject_names([result.path for result in results])):
            writer.writerow(["cell", subject, *result.row(), *[""] * len(SUBJECT_COLUMNS)])
        for answer in answers:
            writer.writerow(subject_row(answer, len(cell_columns)))

