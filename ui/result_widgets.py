"""One classified image on screen: heading, limits, scope reasons, answer, stages, report download."""
from __future__ import annotations

import logging
from pathlib import Path
from collections.abc import Callable

import numpy as np
import streamlit as st

from core.data import labels
from core.imaging.fields.lineage import LYMPHOID_ONLY_NOTE
from core.model.answering import explained_class
from core.data.sides import SIDE_NAMES
from core.model.assessment import Assessment, answer_text, qualifications
from core.model.decision import prediction_set_text
from core.model.evidence import OLDER_OOD_CHECK
from core.reporting.html_report import build_report
from ui import cache, explain_cache, image_cache, navigation, state
from core.imaging.image_cells import box_text
from ui.outcomes import UploadOutcome
from ui.messages import plain

LOGGER = logging.getLogger(__name__)
STAIN_WORDS = ("Moved to the model's training stain (Reinhard normalisation of the cell's L*a*b* colours, after "
               "segmentation) before the model saw it: the sidebar's toggle.")
TTA_EXPLANATION = (
    "Uncertainty is the mean ± spread of P(ALL) over 8 flips and rotations of the crop: a cell has "
    "no up or down, so a large spread means a fragile answer."
)


def render_qualifications(assessment: Assessment) -> None:
    """The limits of the answer, in the words every surface uses, right under it; nothing when none apply."""
    sentences = qualifications(assessment)
    if sentences:
        st.warning("\n".join(f"- {sentence}" for sentence in sentences), icon=":material/report:")


def render_answer(assessment: Assessment) -> None:
    """Answer, P(ALL), threshold and the TTA spread as metrics; a referred image keeps its numbers in an expander."""
    if assessment.out_of_scope:
        with st.expander("What the model computed anyway (not an answer)"):
            st.markdown(answer_numbers(assessment))
        return
    answer, probability, threshold, spread = st.columns(4)
    answer.metric("Answer", answer_text(assessment), help=labels.LONG_NAMES.get(assessment.answer))
    probability.metric("P(ALL)", f"{assessment.probability_all:.3f}")
    threshold.metric("Threshold (model card)", labels.format_threshold(assessment.threshold), help="ALL when P(ALL) ≥ threshold.")
    if assessment.tta_mean is not None:
        spread.metric("Uncertainty (8 views)", f"{assessment.tta_mean:.3f} ± {assessment.tta_std:.3f}")
        st.caption(TTA_EXPLANATION)
    if assessment.prediction_set is not None:
        st.caption(f"Prediction set at the chosen error rate: {prediction_set_text(assessment.prediction_set)}; the answer "
                   f"is given only when it holds one class. The threshold alone would say "
                   f"{labels.display_name(assessment.label)} (secondary information, not the answer).")


def answer_numbers(assessment: Assessment) -> str:
    """P(ALL), threshold and TTA spread as one line of small Markdown text."""
    text = (f"P(ALL) = {assessment.probability_all:.3f} at threshold {labels.format_threshold(assessment.threshold)} "
            f"(the threshold alone would say {labels.display_name(assessment.label)})")
    if assessment.tta_mean is not None:
        text += f"; over 8 views {assessment.tta_mean:.3f} ± {assessment.tta_std:.3f}"
    return text + "."


def render_scope_warning(analysis, in_field: bool = False) -> None:
    """The out-of-scope warning with its reasons: not like a C-NMC cell (a field's cell: not like a lymphoid one)."""
    if not analysis.in_scope:
        reasons = "\n".join(f"- {reason}" for reason in analysis.scope_reasons)
        heading = ("Out of scope: this cell, cut out of the field, is not like the cells the model judges." if in_field
                   else "Out of scope: this does not look like one segmented cell on a dark background.")
        st.warning(f"**{heading}** Why:\n{reasons}", icon=":material/warning:")


def render_stages(outcome: UploadOutcome) -> None:
    """The preprocessing stages side by side: original (before and after stain normalisation), CLAHE, Otsu mask, model input."""
    stages = outcome.analysis.stages
    original = "Cut out of the field" if outcome.in_field else "Original"
    pictures = [(outcome.image_rgb, original), (stages.clahe, "Grayscale + CLAHE"),
                (stages.mask, "Otsu mask (largest blob)"), (stages.model_input, "Crop = model input")]
    if outcome.unnormalised_rgb is not None:
        pictures[:1] = [(outcome.unnormalised_rgb, f"{original}, its own stain"),
                        (outcome.image_rgb, "Moved to the model's training stain")]
    if outcome.stain:
        st.caption(plain(STAIN_WORDS))  # L*a*b* is not Markdown emphasis
    columns = st.columns(len(pictures))
    for column, (picture, caption) in zip(columns, pictures):
        column.image(picture, caption=caption, width="stretch")


def report_maker(outcome: UploadOutcome, classifier, explainer) -> Callable[[], str]:
    """A no-argument function that writes the HTML report (`ui.image_cache.report_html` calls it once per image and model)."""

    def make() -> str:
        overlay_rgb, note = heatmap_overlay(classifier, explainer, outcome) if explainer is not None else (None, None)
        loaded = classifier.loaded
        return build_report(outcome.name, outcome.image_rgb, outcome.analysis, loaded.metadata, loaded.sha256, overlay_rgb,
                            outcome.assessment, overlay_method="gradcam", overlay_note=note, origin=origin_rows(outcome),
                            origin_note=LYMPHOID_ONLY_NOTE if outcome.in_field else None)

    return make


def origin_rows(outcome: UploadOutcome) -> list[tuple[str, str]]:
    """Where the cell came from, for the report: a field's name, the cell's number and box, and the stain it was moved to."""
    rows = []
    if outcome.in_field:
        rows += [("Smear field", outcome.field), ("Cell", f"#{outcome.number} of the field's whole white cells"),
                 ("Box (x0 y0 x1 y1, the photo's pixels)", box_text(outcome.box))]
    if outcome.stain:
        rows.append(("Stain", STAIN_WORDS))
    return rows


def report_explainer(classifier):
    """The Explain page's cached Explainer for this model, or None when it cannot be built."""
    try:
        return explain_cache.get_explainer(classifier)
    except Exception:  # The report then goes without a heatmap; the Explain page shows the error.
        LOGGER.exception("No explainer for the report")
        return None


def heatmap_overlay(classifier, explainer, outcome: UploadOutcome) -> tuple[np.ndarray | None, str | None]:
    """The answer's Grad-CAM overlay (`explain_cache.answer_gradcam`) and its faithfulness in words, or (None, None) when either fails."""
    stages, target = outcome.analysis.stages, explained_class(outcome.assessment)
    drawn = explain_cache.answer_gradcam(classifier, outcome.digest, stages.model_input, target, explainer)
    if drawn is None:
        return None, None
    try:
        from core.explain.faithfulness import heatmap_faithfulness

        faithfulness = heatmap_faithfulness(explainer, stages, drawn[0], target)
    except Exception:  # The report is still useful without its heatmap; never a heatmap without its caveats.
        LOGGER.exception("The faithfulness of the report's heatmap of %r failed", outcome.name)
        return None, None
    return drawn[1], " ".join(filter(None, [faithfulness.outside_warning(), faithfulness.sentence()]))


def render_result(outcome: UploadOutcome, classifier) -> None:
    """Everything about one successfully classified image."""
    assessment = outcome.assessment
    st.subheader(f"{plain(outcome.name)}: {answer_text(assessment)}", anchor=False)
    render_qualifications(assessment)
    render_scope_warning(outcome.analysis, outcome.in_field)
    if outcome.in_field:
        render_field_origin(outcome)
    for note in outcome.notes:
        st.caption(plain(note))
    render_answer(assessment)
    render_similar_cells(assessment, classifier)
    render_stages(outcome)
    if outcome.dataset_label:
        st.caption(f"Label in the dataset: {labels.display_name(outcome.dataset_label)}.")
    if outcome.sample_side:
        st.caption(f"Sample: {outcome.sample_side}.")
    left, right = st.columns(2)
    report_key = (cache.model_key(classifier), outcome.digest, outcome.name, outcome.sample_side, state.error_rate())
    report = image_cache.report_html(report_key, report_maker(outcome, classifier, report_explainer(classifier)))
    left.download_button("Download a report (HTML)", report, file_name=f"report-{outcome.digest[:12]}.html",
                         mime="text/html", icon=":material/download:", on_click="ignore", key="report_download")
    right.page_link(navigation.by_title("Explain").script, label="Explain this answer (Grad-CAM)", icon=":material/visibility:")


def render_field_origin(outcome: UploadOutcome) -> None:
    """Where a field's cell lies, that the model judges lymphoid cells only, and why it has no 8-view spread."""
    st.caption(plain(f"Cell #{outcome.number} of the smear field {outcome.field}, box {box_text(outcome.box)} "
                     "(x0 y0 x1 y1, the photo's pixels). A field's cells are answered together in one batch, "
                     f"without the 8-view uncertainty. {LYMPHOID_ONLY_NOTE}"))


def similar_cell_agreement(label: str, assessment: Assessment) -> str:
    """How a similar cell's label stands to the answer; to the threshold's label when the answer is refer."""
    if assessment.answer in labels.LABELS:
        return "same as the answer" if label == assessment.answer else "differs from the answer"
    return "same as the label at the threshold" if label == assessment.label else "differs from the label at the threshold"


def render_similar_cells(assessment: Assessment, classifier) -> None:
    """The nearest known cells with their labels and whether they share the answer; or what the model lacks."""
    if not assessment.similar_cells:
        for note in classifier.evidence.notes:
            st.caption(plain(note))
        return
    st.markdown("**Similar known cells** (nearest in the network's feature space; explanation by example, not proof)")
    if classifier.evidence.ood_statistics is None:  # an index from before the stain and texture check: say how to add it
        st.caption(plain(OLDER_OOD_CHECK.format(path=classifier.loaded.path)))
    root = Path(str(classifier.loaded.metadata.get("data", {}).get("root", "")))
    for column, cell in zip(st.columns(len(assessment.similar_cells)), assessment.similar_cells):
        path = root / cell.file
        thumbnail, _ = cache.thumbnail(str(path), cache.file_stamp(path)) if path.is_file() else (None, None)
        if thumbnail is not None:
            column.image(thumbnail, width="stretch")
        agrees = similar_cell_agreement(cell.label, assessment)
        column.caption(plain(f"{labels.display_name(cell.label)} ({agrees}); subject {cell.subject}, {SIDE_NAMES.get(cell.side, cell.side)}, "
                             f"distance {cell.distance:.2f}"))
