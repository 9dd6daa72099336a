"""The Patient page's results: the answer about the person, the cells' P(ALL), the running estimate,
the gallery of cells (each one click from Explain) and the report downloads.

Functions named `render_...` draw; the numbers come from `core.subjects.rules` and the sentences from
`core.subjects.summary`, the same ones the HTML report and the CSV use.
"""
from __future__ import annotations

import streamlit as st

from core.data.labels import display_name
from core.imaging.fields.lineage import LYMPHOID_ONLY_NOTE
from core.model.assessment import answer_text
from core.subjects.rules import SubjectAnswer, answer_subject, running_scores, usable_probabilities
from core.reporting.subject_figures import distribution_figure, running_figure
from core.reporting.subject_report import build_subject_report
from core.subjects.summary import (
    answer_sentences, by_probability, cell_flag_words, csv_text, headline, stability_sentence,
)
from ui import cache
from ui.messages import plain
from ui.patient_explain import explain_cell
from ui.patient_widgets import UPLOADED, PatientInput, PatientView

GALLERY_COLUMNS, GALLERY_PAGE = 6, 24


def subject_answer(view: PatientView, classifier) -> SubjectAnswer:
    """The subject-level answer (mean log-odds of the usable cells, with the model's temperature when it has one)."""
    calibration = classifier.evidence.calibration
    temperature = calibration.temperature if calibration is not None else None
    assessments = [cell.assessment for cell in view.cells if cell.assessment is not None]
    return answer_subject(view.subject, assessments, classifier.threshold, temperature=temperature)


def field_note(view: PatientView) -> str | None:
    """For cells found in smear fields: how many, from how many fields, and that the model only judges lymphoid cells."""
    found = [cell for cell in view.cells if cell.place is not None]
    if not found:
        return None
    fields = len({(cell.digest, cell.place.field) for cell in found})
    stained = " moved to the model's training stain," if any(cell.stain for cell in found) else ""
    return (f"{len(found)} white cell(s) were found in {fields} smear field(s) or analyser crop(s){stained} and each is "
            f"answered like an uploaded cell (named FIELD#k; the CSV keeps its field and box). {LYMPHOID_ONLY_NOTE}")


def render_answer(view: PatientView, answer: SubjectAnswer, classifier) -> None:
    """The answer about the person in large type, its interval and counts, then its sentences and limits."""
    person = view.subject if view.subject == UPLOADED else f"Subject {view.subject}"
    st.subheader(f"{plain(person)}: {headline(answer)}", anchor=False)
    if note := field_note(view):
        st.info(note, icon=":material/biotech:")
    columns = st.columns(5)
    columns[0].metric("Answer about the person", headline(answer))
    if answer.score is not None:
        columns[1].metric("Subject score", f"{answer.score:.3f}", help=f"ALL at or above {answer.decision_threshold:.3f}.")
        columns[2].metric("95% interval over the cells", f"{answer.interval[0]:.2f} – {answer.interval[1]:.2f}")
    columns[3].metric("Cells used", f"{answer.cells_used} of {len(view.cells)}")
    columns[4].metric("Referred / out of scope", f"{answer.cells_referred} / {answer.cells_out_of_scope}")
    st.warning("\n".join(f"- {sentence}" for sentence in answer_sentences(answer, bool(classifier.loaded.metadata.get("is_demo")))),
               icon=":material/report:")
    stability = stability_sentence(cache.model_sidecar()[0], answer.cells_used)
    if stability:
        st.caption(stability)
    if view.dataset_label:
        st.caption(f"Label in the dataset: {display_name(view.dataset_label)} ({view.side}).")
    failed = [cell for cell in view.cells if cell.assessment is None]
    if failed:
        with st.expander(f"{len(failed)} file(s) could not be used"):
            st.text("\n".join(cell.error or cell.name for cell in failed))


def render_charts(view: PatientView, answer: SubjectAnswer, classifier) -> None:
    """The cells' P(ALL) with the threshold, and the subject score as cells are added (in the order given)."""
    assessed = [cell.assessment for cell in view.cells if cell.assessment is not None]
    left, right = st.columns(2)
    left.plotly_chart(distribution_figure([a.probability_all for a in assessed], [answer_text(a) for a in assessed],
                                          classifier.threshold), key="patient_distribution")
    used, _, _ = usable_probabilities(assessed)
    if used.size:
        calibration = classifier.evidence.calibration
        running = running_scores(used, classifier.threshold, answer.rule, calibration.temperature if calibration else None)
        right.plotly_chart(running_figure(running, answer.decision_threshold, answer.rule), key="patient_running")


def render_gallery(view: PatientView, patient: PatientInput | None) -> None:
    """The cells, most ALL-like first, a page at a time; each with its answer, limits and an Explain button."""
    ordered = by_probability(view.cells)
    if not ordered:
        return
    st.subheader("The cells, most ALL-like first", anchor=False)
    pages = (len(ordered) + GALLERY_PAGE - 1) // GALLERY_PAGE
    page = st.number_input(f"Page (of {pages})", 1, pages, 1, key="patient_gallery_page") if pages > 1 else 1
    shown = ordered[(page - 1) * GALLERY_PAGE : page * GALLERY_PAGE]
    for row in range(0, len(shown), GALLERY_COLUMNS):
        for position, (column, cell) in enumerate(zip(st.columns(GALLERY_COLUMNS), shown[row : row + GALLERY_COLUMNS])):
            found = cell.assessment
            column.image(cell.thumbnail_rgb, width="stretch")
            limits = ", ".join(cell_flag_words(found))
            column.caption(plain(f"{cell.name}: {answer_text(found)}, P(ALL) {found.probability_all:.3f}"
                                 + (f" ({limits})" if limits else "")))
            number = (page - 1) * GALLERY_PAGE + row + position
            if column.button("Explain", key=f"patient_explain_{number}_{cell.digest[:12]}", icon=":material/visibility:"):
                explain_cell(cell, view, patient)


def render_downloads(view: PatientView, answer: SubjectAnswer, classifier) -> None:
    """The per-person report (self-contained HTML) and the per-cell CSV."""
    loaded = classifier.loaded
    stability = stability_sentence(cache.model_sidecar()[0], answer.cells_used)

    def report() -> str:
        return build_subject_report(answer, view.cells, loaded.metadata, loaded.sha256, stability, view.dataset_label)

    stem = f"patient-{view.key[1][0][:12] if view.key[1] else 'none'}"
    left, right = st.columns(2)
    left.download_button("Download the report (HTML)", report, file_name=f"{stem}.html", mime="text/html",
                         icon=":material/download:", on_click="ignore")
    right.download_button("Download the cells (CSV)", csv_text(view.subject, view.cells).encode("utf-8"),
                          file_name=f"{stem}.csv", mime="text/csv", icon=":material/download:", on_click="ignore")
