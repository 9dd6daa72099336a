"""A one-person report as one self-contained HTML file: the subject-level answer and every cell.

Built like the one-image report (`core.reporting.html_report`): thumbnails are embedded base64
PNGs, all text is HTML-escaped (file names come from users), nothing loads from the network, and
the research-only notice, the demo caveat and the model's identity travel with it.
"""
from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from core import config
from core.data import labels
from core.model.assessment import answer_text
from core.subjects.rules import SubjectAnswer
from core.reporting.html_report import STYLE, _rows, model_rows, png_data_uri
from core.subjects.summary import SubjectCell, answer_sentences, by_probability, cell_flag_words, headline

CELL_STYLE = "td img{width:64px;height:64px;background:#000;image-rendering:pixelated}"


def _cell_row(cell: SubjectCell) -> str:
    found = cell.assessment
    picture = "" if cell.thumbnail_rgb is None else f'<img src="{png_data_uri(cell.thumbnail_rgb)}" alt="">'
    place = "" if cell.place is None else f"<br><small>box {html.escape(cell.place.box_text)} px</small>"
    stain = ", moved to the model's stain" if cell.stain else ""
    return (f"<tr><td>{picture}</td><td><code>{html.escape(cell.name)}</code>{place}</td>"
            f"<td>{html.escape(answer_text(found))}</td><td>{found.probability_all:.3f}</td>"
            f"<td>{html.escape(', '.join(cell_flag_words(found)) or '-')}{stain}</td></tr>")


def cells_table(cells: Sequence[SubjectCell]) -> str:
    """Every assessed cell, most ALL-like first, with its thumbnail; then the files that failed."""
    rows = "".join(_cell_row(cell) for cell in by_probability(cells))
    table = ("<table><tr><th></th><th>file</th><th>answer</th><th>P(ALL)</th><th>limits</th></tr>"
             f"{rows}</table>")
    failed = [cell for cell in cells if cell.assessment is None]
    if failed:
        items = "".join(f"<li>{html.escape(cell.error or cell.name)}</li>" for cell in failed)
        table += f"<h3>Files that could not be used ({len(failed)})</h3><ul>{items}</ul>"
    return table


def subject_rows(answer: SubjectAnswer, dataset_label: str | None) -> list[tuple[str, str]]:
    """The subject-level figures as (field, value) text pairs."""
    rows = [("Answer", headline(answer)), ("Cells given", str(answer.cells_total)), ("Cells used", str(answer.cells_used)),
            ("Cells referred", str(answer.cells_referred)), ("Cells out of scope", str(answer.cells_out_of_scope))]
    if answer.score is not None:
        rows += [("Subject score", f"{answer.score:.3f}"),
                 ("95% interval over the cells", f"{answer.interval[0]:.3f} to {answer.interval[1]:.3f}"),
                 ("ALL at or above", f"{answer.decision_threshold:.3f}")]
    if dataset_label:
        rows.append(("Label in the dataset", labels.display_name(dataset_label)))
    return rows


def build_subject_report(answer: SubjectAnswer, cells: Sequence[SubjectCell], model_metadata: Mapping[str, Any],
                         model_sha256: str, stability: str | None = None, dataset_label: str | None = None) -> str:
    """The whole report for one person as an HTML string.

    Args:
        answer: the subject-level answer (`core.subjects.rules.answer_subject`).
        cells: every cell given, assessed or failed, each with its (T, T, 3) uint8 RGB thumbnail.
        model_metadata: the model's sidecar; `is_demo` adds the demo caveat.
        model_sha256: the SHA-256 of the model file actually used.
        stability: the sentence on how many cells are enough (`stability_sentence`), if the model has one.
        dataset_label: the subject's label in the dataset, for a held-out subject.
    """
    created = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    title = html.escape(f"Leukemia cell classifier, one person: {answer.subject}")
    sentences = answer_sentences(answer, bool(model_metadata.get("is_demo")))
    notes = "".join(f"<li>{html.escape(sentence)}</li>" for sentence in sentences + ([stability] if stability else []))
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{STYLE}{CELL_STYLE}</style></head><body><h1>{title}</h1>"
        f'<div class="notice"><strong>{html.escape(config.DISCLAIMER)}</strong></div>'
        f"<h2>Answer about the person: {html.escape(headline(answer))}</h2>"
        f'<div class="qualify"><ul>{notes}</ul></div><table>{_rows(subject_rows(answer, dataset_label))}</table>'
        f"<h2>The cells, most ALL-like first</h2>{cells_table(cells)}"
        f"<h2>Model</h2><table>{_rows(model_rows(model_metadata, model_sha256))}</table>"
        f"<p>Generated {html.escape(created)} by the Leukemia cell classifier (research and education only).</p>"
        "</body></html>"
    )
