"""The patient view's words and table: one subject-level answer in sentences, and one row per cell.

The page, its HTML report and its CSV all say the subject-level answer with these sentences, so the
answer, its interval, what was left out and its limits read the same everywhere.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from core import config
from core.data import labels
from core.imaging.image_cells import CellPlace
from core.model.assessment import DEMO_SENTENCE, Assessment, answer_text, flags
from core.subjects.rules import RULE_NAMES, SubjectAnswer
from core.subjects.cohort import STABLE_SHARE

INTERVAL_MEANING = ("The interval comes from resampling this person's cells: it says how much the answer depends on "
                    "which cells were imaged, not how likely the person is to have ALL.")
DEMO_SUBJECT_SENTENCE = f"{DEMO_SENTENCE} Its answer about a person whose real cells were uploaded means nothing."
NO_CELLS_SENTENCE = "No cell could be used (every cell was referred, out of scope or unreadable): refer to a person."
# Per-cell flags in short words; "demo_model" applies to every cell and is said once for the subject.
CELL_FLAG_WORDS = {"real_cell_on_demo_model": "real cell, demo model", "out_of_scope": "out of scope",
                   "out_of_distribution": "unlike the known cells", "orientation_unstable": "depends on orientation",
                   "conformal_refer": "both answers possible", "conformal_empty": "neither answer plausible",
                   "threshold_differs": "threshold alone says the other class", "seen_in_training": "seen in training"}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class SubjectCell:
    """One cell of the person: its file, a thumbnail and its assessment, or why it could not be read.

    Attributes:
        name: the file name (or path inside a zip), as given: untrusted text.
        digest: SHA-256 of the file's bytes.
        thumbnail_rgb: (T, T, 3) uint8 RGB of the model input, or None when the file failed.
        assessment: the cell's answer with its limits (no TTA), or None when it failed.
        error: why the file could not be used, a sentence naming it; None when it was assessed.
        place: where a field's cell lies (`core.imaging.image_cells.CellPlace`: field, number, box); None
            for a file that is itself one cell.
        stain: "reinhard" when the cell was moved to the model's training stain first, else "".
    """

    name: str
    digest: str
    thumbnail_rgb: np.ndarray | None = None
    assessment: Assessment | None = None
    error: str | None = None
    place: CellPlace | None = None
    stain: str = ""


def headline(answer: SubjectAnswer) -> str:
    """'ALL', 'Healthy' or 'Refer', as a person reads it."""
    return labels.answer_name(answer.answer)


def answer_sentences(answer: SubjectAnswer, is_demo: bool) -> list[str]:
    """The subject-level answer in plain sentences: score and interval, what was left out, the limits."""
    if answer.score is None:
        sentences = [NO_CELLS_SENTENCE]
    else:
        low, high = answer.interval
        sentences = [f"From {answer.cells_used} cell(s), the {RULE_NAMES[answer.rule]} gives a subject score of "
                     f"{answer.score:.3f} (95% interval {low:.3f} to {high:.3f}); the answer is ALL at or above "
                     f"{answer.decision_threshold:.3f}.", INTERVAL_MEANING]
        if low < answer.decision_threshold <= high:
            sentences.append("The interval crosses the threshold: other cells of this person could give the other answer.")
    left_out = answer.cells_referred + answer.cells_out_of_scope
    if left_out:
        sentences.append(f"Left out of the answer: {answer.cells_referred} cell(s) referred (both answers possible) "
                         f"and {answer.cells_out_of_scope} out of scope (unlike the cells the model learned).")
    if is_demo:
        sentences.append(DEMO_SUBJECT_SENTENCE)
    return sentences + [config.DISCLAIMER]


def stability_sentence(metadata: Mapping[str, Any], cells_used: int) -> str | None:
    """'With 12 cells, 95% of held-out subjects already got their final answer…' from the sidecar, or None.

    Reads `subject_evaluation.held_out.stable_after` (and the number of subjects it rests on); a model
    saved without a subject-level evaluation gives None, and nothing is said.
    """
    held_out = (metadata.get("subject_evaluation") or {}).get("held_out") or {}
    stable = held_out.get("stable_after") if isinstance(held_out, Mapping) else None
    if not isinstance(stable, int) or isinstance(stable, bool) or stable <= 0:
        return None
    subjects = (held_out.get("summary") or {}).get("subjects")
    resting = f" (of {subjects} held-out subjects: few, so read it as a rough guide)" if isinstance(subjects, int) else ""
    where = ("this person has at least that many usable cells" if cells_used >= stable
             else f"this person has only {cells_used} usable cell(s), so the answer may still change with more")
    return (f"With {stable} cells, {STABLE_SHARE:.0%} of held-out subjects already got their final answer"
            f"{resting}; {where}.")


def cell_flag_words(assessment: Assessment) -> list[str]:
    """The cell's limits in short words (the demo-model flag, said once per subject, left out)."""
    return [CELL_FLAG_WORDS[name] for name in flags(assessment) if name in CELL_FLAG_WORDS]


def by_probability(cells: Sequence[SubjectCell]) -> list[SubjectCell]:
    """The assessed cells, most ALL-like first (P(ALL) descending)."""
    return sorted((cell for cell in cells if cell.assessment is not None), key=lambda cell: -cell.assessment.probability_all)


def escape_formula(text: str) -> str:
    """Text a spreadsheet would run as a formula (starting with = + - @, tab or CR) gets a leading quote."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def cell_row(subject: str, cell: SubjectCell) -> dict[str, Any]:
    """One CSV row: the cell's answer, P(ALL), whether it entered the subject's answer, its limits or error."""
    found = cell.assessment
    used = found is not None and not found.out_of_scope and found.answer != labels.REFER
    return {"subject": subject, "file": cell.name, "answer": answer_text(found) if found else "",
            "probability_all": f"{found.probability_all:.6f}" if found else "",
            "probability_all_calibrated": "" if found is None or found.probability_all_calibrated is None
            else f"{found.probability_all_calibrated:.6f}",
            "used_in_subject_answer": "yes" if used else "no", "flags": ",".join(flags(found)) if found else "",
            "error": cell.error or "", "field": cell.place.field if cell.place else "",
            "box": cell.place.box_text if cell.place else "", "stain": cell.stain}


def csv_text(subject: str, cells: Sequence[SubjectCell]) -> str:
    """Every cell as CSV, in the order given; every text field escaped against spreadsheet formulas."""
    rows = [cell_row(subject, cell) for cell in cells]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(cell_row(subject, SubjectCell("", ""))))
    writer.writeheader()
    writer.writerows({key: escape_formula(value) for key, value in row.items()} for row in rows)
    return buffer.getvalue()
