"""A one-image report as one self-contained HTML file: open it anywhere, offline, or print it.

Every image is an embedded base64 PNG, every piece of text is HTML-escaped (file names
and metadata come from users), and the page loads nothing from the network. The report
carries the research-only notice, the model's identity and when it was made, so a copy
that travels without the app still says what it is and is not.
"""
from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np

from core import config
from core.data import labels
from core.data.sides import SIDE_NAMES
from core.explain.methods import METHOD_NAMES
from core.imaging.encode import png_bytes
from core.model.analysis import CellAnalysis
from core.model.assessment import (
    DEMO_SENTENCE, Assessment, answer_text, assess, ood_score_text, qualifications,
)
from core.model.decision import prediction_set_text
from core.model.ood import SCORE_WORDS

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
.notice{background:#fff4e5;border-left:4px solid #e8a33d;padding:.6rem 1rem;margin:1rem 0}
.qualify{background:#fdecea;border-left:4px solid #d9534f;padding:.6rem 1rem;margin:1rem 0}
.scope{background:#fdecea;border-left:4px solid #d9534f;padding:.6rem 1rem;margin:1rem 0}
figure{display:inline-block;margin:0 1rem 1rem 0;text-align:center}
figure img{width:224px;height:224px;object-fit:contain;background:#000;image-rendering:pixelated}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}
code{font-size:.85em;word-break:break-all}
"""


def png_data_uri(image: np.ndarray) -> str:
    """(H, W, 3) uint8 RGB or (H, W) uint8 grey -> a `data:image/png;base64,...` URI."""
    return "data:image/png;base64," + base64.b64encode(png_bytes(image)).decode("ascii")


def _figure(image: np.ndarray, caption: str) -> str:
    return f'<figure><img src="{png_data_uri(image)}" alt="{html.escape(caption)}"><figcaption>{html.escape(caption)}</figcaption></figure>'


def _rows(pairs: list[tuple[str, str]]) -> str:
    return "".join(f"<tr><th>{html.escape(key)}</th><td>{html.escape(value)}</td></tr>" for key, value in pairs)


def origin_block(origin: Sequence[tuple[str, str]], note: str | None) -> str:
    """The "Where the cell came from" section (escaped here), or "" when there is nothing to say."""
    if not origin and not note:
        return ""
    note_html = f'<div class="qualify">{html.escape(note)}</div>' if note else ""
    return f"<h2>Where the cell came from</h2><table>{_rows(list(origin))}</table>{note_html}"


def answer_rows(assessment: Assessment) -> list[tuple[str, str]]:
    """The answer as (field, value) text pairs, shared by the report and its tests."""
    rows = [
        ("Answer", answer_text(assessment)),
        ("Label at the threshold (secondary: the answer follows the prediction set)" if assessment.prediction_set is not None
         else "Label at the threshold", labels.LONG_NAMES[assessment.label]),
        ("P(ALL)", f"{assessment.probability_all:.3f}"),
        ("Decision threshold", f"{labels.format_threshold(assessment.threshold)} (ALL when P(ALL) ≥ threshold)"),
    ]
    if assessment.probability_all_calibrated is not None:
        rows.append(("P(ALL), calibrated", f"{assessment.probability_all_calibrated:.3f}"))
    if assessment.tta_mean is not None:
        rows.append(("Uncertainty (8 flips/rotations)", f"P(ALL) {assessment.tta_mean:.3f} ± {assessment.tta_std:.3f}"))
    if assessment.prediction_set is not None:
        rows.append(("Prediction set (conformal)", prediction_set_text(assessment.prediction_set)))
    if assessment.ood_score is not None:
        rows.append(("OOD score (" + SCORE_WORDS[assessment.ood_from_statistics][0] + ")", ood_score_text(assessment)))
    rows.append(("Input in scope", "no: see the warning above" if assessment.scope_reasons else "yes"))
    if assessment.sample_side:
        rows.append(("Sample", assessment.sample_side))
    return rows


def similar_cells_block(assessment: Assessment) -> str:
    """The nearest known cells (file, label, subject, distance) as an HTML table; empty without an index."""
    if not assessment.similar_cells:
        return ""
    rows = "".join(
        f"<tr><td>{html.escape(cell.file)}</td><td>{html.escape(labels.display_name(cell.label))}</td>"
        f"<td>{html.escape(str(cell.subject))}</td><td>{html.escape(SIDE_NAMES.get(cell.side, cell.side))}</td><td>{cell.distance:.3f}</td></tr>"
        for cell in assessment.similar_cells
    )
    return ("<h2>Similar known cells</h2><p>The cells of the model's training data and held-out subjects nearest to this one "
            "in the network's feature space (explanation by example, not proof).</p>"
            f"<table><tr><th>file</th><th>label</th><th>subject</th><th>side</th><th>distance</th></tr>{rows}</table>")


def qualification_block(assessment: Assessment) -> str:
    """The qualifying sentences as an HTML list beside the answer; empty when none apply."""
    sentences = qualifications(assessment)
    if not sentences:
        return ""
    items = "".join(f"<li>{html.escape(sentence)}</li>" for sentence in sentences)
    return f'<div class="qualify"><strong>Limits of this answer</strong><ul>{items}</ul></div>'


def model_rows(metadata: Mapping[str, Any], sha256: str) -> list[tuple[str, str]]:
    """The model's identity as (field, value) text pairs."""
    return [
        ("Model", str(metadata.get("model_name", "unknown"))),
        ("Version", str(metadata.get("version") or "not recorded")),
        ("Trained", str(metadata.get("created") or "not recorded")),
        ("File", str(metadata.get("file_name", ""))),
        ("SHA-256", sha256),
        ("Demo model (synthetic cells)", "yes" if metadata.get("is_demo") else "no"),
    ]


def build_report(
    image_name: str,
    image_rgb: np.ndarray,
    analysis: CellAnalysis,
    model_metadata: Mapping[str, Any],
    model_sha256: str,
    overlay_rgb: np.ndarray | None = None,
    assessment: Assessment | None = None,
    overlay_method: str = "gradcam",
    overlay_note: str | None = None,
    origin: Sequence[tuple[str, str]] = (),
    origin_note: str | None = None,
) -> str:
    """The whole report for one image as an HTML string.

    Args:
        image_name: the uploaded file's name (escaped here).
        image_rgb: (H, W, 3) uint8 RGB, the image as uploaded.
        analysis: its answer, preprocessing stages and scope warnings.
        model_metadata: the model's sidecar (model_name, version, created, file_name, is_demo, ...).
        model_sha256: the SHA-256 of the model file actually used.
        overlay_rgb: (S, S, 3) uint8 RGB heatmap overlay on the model input, if available.
        assessment: the answer with its limits; by default `assess(analysis, model_metadata)` (an upload).
        overlay_method: the method that drew the overlay, a key of `core.explain.explainer.METHOD_NAMES`.
        overlay_note: a sentence printed under the overlay, e.g. that the map points mostly outside the cell.
        origin: where the cell came from as (what, value) text pairs, e.g. a smear field's name and the cell's box
            in it, or the stain it was moved to; nothing for a plain upload.
        origin_note: a sentence printed under them (a field's: the model only judges lymphoid cells).
    """
    assessment = assessment or assess(analysis, model_metadata)
    created = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    figures = _figure(image_rgb, "Original") + _figure(analysis.stages.model_input, "Model input (crop)")
    if overlay_rgb is not None:
        figures += _figure(overlay_rgb, f"{METHOD_NAMES[overlay_method]} heatmap (where the model looked)")
        if overlay_note:
            figures += f'<div class="qualify">{html.escape(overlay_note)}</div>'
    scope = ""
    if analysis.scope_reasons:
        items = "".join(f"<li>{html.escape(reason)}</li>" for reason in analysis.scope_reasons)
        scope = f'<div class="scope"><strong>Out of scope: the answer below is not meaningful.</strong><ul>{items}</ul></div>'
    demo = f'<div class="qualify"><strong>{html.escape(DEMO_SENTENCE)}</strong></div>' if assessment.is_demo else ""
    title = html.escape(f"Leukemia cell classifier report: {image_name}")
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{STYLE}</style></head><body><h1>{title}</h1>"
        f'<div class="notice"><strong>{html.escape(config.DISCLAIMER)}</strong></div>'
        f"{demo}{scope}<div>{figures}</div>"
        f"<h2>Answer: {html.escape(answer_text(assessment))}</h2>{qualification_block(assessment)}"
        f"<table>{_rows(answer_rows(assessment))}</table>{similar_cells_block(assessment)}"
        f"{origin_block(origin, origin_note)}"
        f"<h2>Model</h2><table>{_rows(model_rows(model_metadata, model_sha256))}</table>"
        f"<p>Generated {html.escape(created)} by the Leukemia cell classifier (research and education only).</p>"
        "</body></html>"
    )
