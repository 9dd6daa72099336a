"""A finished quiz as files to keep: one CSV row per cell, and a self-contained HTML summary.

Every piece of text is escaped in the HTML (file names come from data folders), and a cell name that
starts like a spreadsheet formula is quoted in the CSV so that it stays text. Nothing is written to disk
here: the app offers the strings for download, and nothing outlives the session.
"""
from __future__ import annotations

import csv
import html
import io
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from core import config
from core.data.labels import answer_name, display_name
from core.reporting.html_report import STYLE, model_rows
from core.reporting.quiz import SCORING_NOTE, QuizAnswer, score_rows

CSV_COLUMNS = ("number", "cell", "source", "truth", "your answer", "your confidence", "your P(ALL)",
               "model answer", "model threshold call", "model P(ALL)")
_FORMULA_STARTS = "=+-@\t\r"


def _text_cell(text: str) -> str:
    """A spreadsheet cannot run it: a leading formula character gets a quote in front."""
    return "'" + text if text[:1] in _FORMULA_STARTS else text


def answer_rows(answers: Sequence[QuizAnswer]) -> list[dict[str, str]]:
    """One row per cell, keyed by `CSV_COLUMNS`, in words a person reads (shared by the CSV, HTML and the page)."""
    return [{
        "number": str(number), "cell": answer.cell, "source": answer.side, "truth": display_name(answer.truth),
        "your answer": display_name(answer.call), "your confidence": f"{answer.confidence:.0%}",
        "your P(ALL)": f"{answer.student_probability_all:.2f}", "model answer": answer_name(answer.model_answer),
        "model threshold call": display_name(answer.model_label), "model P(ALL)": f"{answer.model_probability_all:.3f}",
    } for number, answer in enumerate(answers, start=1)]


def summary_csv(answers: Sequence[QuizAnswer]) -> str:
    """The per-cell table as CSV text (header `CSV_COLUMNS`)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in answer_rows(answers):
        writer.writerow({**row, "cell": _text_cell(row["cell"]), "source": _text_cell(row["source"])})
    return buffer.getvalue()


def _table(rows: Sequence[Mapping[str, str]]) -> str:
    """Rows of one shape as an HTML table, every cell escaped."""
    if not rows:
        return ""
    head = "".join(f"<th>{html.escape(column)}</th>" for column in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{html.escape(value)}</td>" for value in row.values()) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def summary_html(answers: Sequence[QuizAnswer], notes: Sequence[str], model_metadata: Mapping[str, Any],
                 model_sha256: str) -> str:
    """The quiz summary as one HTML page: notice, limits, the scores side by side, every cell, the model.

    Args:
        answers: the cells answered, in order.
        notes: sentences that qualify the comparison (the demo model's, the cells' source), shown first.
        model_metadata: the model's sidecar (name, version, is_demo, ...).
        model_sha256: the SHA-256 of the model file that answered.
    """
    created = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    note_items = "".join(f"<li>{html.escape(note)}</li>" for note in notes)
    limits = f'<div class="qualify"><strong>Limits of this comparison</strong><ul>{note_items}</ul></div>' if notes else ""
    model = "".join(f"<tr><th>{html.escape(key)}</th><td>{html.escape(value)}</td></tr>"
                    for key, value in model_rows(model_metadata, model_sha256))
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Quiz summary</title>'
        f"<style>{STYLE}</style></head><body><h1>Quiz summary: {len(answers)} cells</h1>"
        f'<div class="notice">{html.escape(config.DISCLAIMER)}</div>{limits}'
        f"<h2>Your score and the model's, on the same cells</h2>{_table(score_rows(answers))}"
        f"<p>{html.escape(SCORING_NOTE)}</p>"
        f"<h2>Every cell</h2>{_table(answer_rows(answers))}"
        f"<h2>Model</h2><table>{model}</table><p>Made {html.escape(created)}. Nothing of this quiz was stored by the app.</p>"
        "</body></html>"
    )
