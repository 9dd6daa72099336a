"""`python -m core.predict --by-subject`: one answer per subject from the answers about its cells.

A file named like C-NMC's training cells (`UID_{subject}_{image}_{cell}_{class}`, any image suffix) belongs to
that subject; any other file to its folder (named by the folder's name, or by its path where two
folders share a name). Each subject is answered by `core.subjects.rules.answer_subject` (mean
log-odds of the usable cells, a 95% bootstrap interval over them; refer and out-of-scope cells are
counted and left out). Files that failed keep their own ERROR line and count for no subject.

Printed, tab-separated, one line per subject:

    subject  answer  score  interval  cells  flags

answer is "all", "hem" or "refer" (no usable cell); score and interval are "-" without usable
cells; cells reads "used=N,referred=N,out_of_scope=N"; flags names the subject's limits, as the
Patient page says them (`SUBJECT_FLAGS`: demo_model, no_usable_cell, interval_crosses_threshold,
cells_left_out; "-" when none). `--csv` writes one file holding both levels: level ("cell" or
"subject"), subject, then the cell columns of `core.predict` (on a subject row: its answer, its
flags and the Patient page's sentences in "qualifications"), then score, interval_low,
interval_high, cells_used, cells_referred, cells_out_of_scope (empty on cell rows).
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, Sequence

from core.data.names import parse_training_name
from core.subjects import rules
from core.reporting.spreadsheet import safe_row

if TYPE_CHECKING:
    from core.model.inference import Classifier


class FileResult(Protocol):
    """What `core.cli.file_results.FileResult` offers here (named structurally, as its callers pass it)."""

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


def mixed_folder_notes(paths: Sequence[str]) -> list[str]:
    """One sentence per folder whose files name several C-NMC subjects: each is answered on its own line."""
    from core.data.names import group_by_subject

    folders: dict[Path, list[str]] = {}
    for path in paths:
        folders.setdefault(Path(path).parent, []).append(path)
    notes = []
    for folder, files in folders.items():
        subjects = [subject for subject in group_by_subject(files) if subject is not None]
        if len(subjects) > 1:
            shown = ", ".join(subjects[:8]) + (", ..." if len(subjects) > 8 else "")
            notes.append(f"note: {folder} holds cells of {len(subjects)} C-NMC subjects ({shown}), by their file names: "
                         "each subject is answered on its own line, not the folder as one person.")
    return notes


def answer_subjects(results: Sequence[FileResult], classifier: Classifier) -> list[rules.SubjectAnswer]:
    """One `SubjectAnswer` per subject, in order of first appearance; failed files are left out."""
    calibration = classifier.evidence.calibration
    temperature = calibration.temperature if calibration is not None else None
    grouped: dict[str, list] = {}
    for result, subject in zip(results, subject_names([result.path for result in results])):
        if result.assessment is not None:
            grouped.setdefault(subject, []).append(result.assessment)
    return [rules.answer_subject(subject, assessments, classifier.loaded.threshold, temperature=temperature)
            for subject, assessments in grouped.items()]


SUBJECT_FLAGS = ("demo_model", "no_usable_cell", "interval_crosses_threshold", "cells_left_out")


def subject_flags(answer: rules.SubjectAnswer, is_demo: bool) -> tuple[str, ...]:
    """The names of the subject's limits (`SUBJECT_FLAGS` order), the ones the Patient page words in `answer_sentences`."""
    crosses = answer.interval is not None and answer.interval[0] < answer.decision_threshold <= answer.interval[1]
    applies = {"demo_model": is_demo, "no_usable_cell": answer.score is None, "interval_crosses_threshold": crosses,
               "cells_left_out": bool(answer.cells_referred + answer.cells_out_of_scope)}
    return tuple(name for name in SUBJECT_FLAGS if applies[name])


def subject_line(answer: rules.SubjectAnswer, is_demo: bool = False) -> str:
    """subject, answer, score, interval, cell counts and flags, tab-separated."""
    score = "-" if answer.score is None else f"{answer.score:.4f}"
    interval = "-" if answer.interval is None else f"{answer.interval[0]:.4f}-{answer.interval[1]:.4f}"
    cells = f"used={answer.cells_used},referred={answer.cells_referred},out_of_scope={answer.cells_out_of_scope}"
    return f"{answer.subject}\t{answer.answer}\t{score}\t{interval}\t{cells}\t{','.join(subject_flags(answer, is_demo)) or '-'}"


def subject_row(answer: rules.SubjectAnswer, cell_columns: Sequence[str], is_demo: bool = False) -> list[str]:
    """The CSV row of one subject: answer, flags and sentences in the cell columns of those names, the rest in SUBJECT_COLUMNS."""
    from core.subjects.summary import answer_sentences

    filled = {"answer": answer.answer, "flags": ",".join(subject_flags(answer, is_demo)),
              "qualifications": " ".join(answer_sentences(answer, is_demo))}
    cells = [filled.get(column, "") for column in cell_columns]
    low, high = answer.interval or ("", "")
    score = "" if answer.score is None else f"{answer.score:.6f}"
    bounds = [f"{value:.6f}" if value != "" else "" for value in (low, high)]
    return ["subject", answer.subject, *cells, score, *bounds,
            str(answer.cells_used), str(answer.cells_referred), str(answer.cells_out_of_scope)]


def write_csv(path: Path, results: Sequence[FileResult], answers: Sequence[rules.SubjectAnswer],
              cell_columns: Sequence[str], is_demo: bool = False) -> None:
    """Cell rows (every file, failed ones with their error) then subject rows, in one CSV."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["level", "subject", *cell_columns, *SUBJECT_COLUMNS])
        for result, subject in zip(results, subject_names([result.path for result in results])):
            writer.writerow(safe_row(["cell", subject, *result.row(), *[""] * len(SUBJECT_COLUMNS)]))
        for answer in answers:
            writer.writerow(safe_row(subject_row(answer, cell_columns, is_demo)))

