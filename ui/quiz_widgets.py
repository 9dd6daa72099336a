"""The Quiz page's pieces: choose the cells, ask about one cell, reveal the truth and the model, sum up.

A round lives in session state only (`ui.state` QUIZ_* keys). The model answers each cell through the
same path as Classify (`ui.classify_widgets.process_file`: decode, analyse, assess, all cached), and its
heatmap is the Explain page's cached Grad-CAM. A cell's file name is shown only after the student
answered: C-NMC file names carry the class.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from core import config
from core.data import labels
from core.model.answering import explained_class
from core.data.quiz_cells import SOURCE_NAMES, SOURCES, default_source, draw_cells
from core.data.sides import Sample
from core.data.synthetic import is_synthetic
from core.errors import LeukemiaAppError
from core.model.assessment import answer_text
from core.reporting.quiz import SCORING_NOTE, answer_from, comparison_notes, score_rows
from core.reporting.quiz_summary import answer_rows, summary_csv, summary_html
from ui import cache, explain_cache, image_cache, state
from ui.classify_widgets import process_file
from ui.messages import plain
from ui.result_widgets import render_qualifications

SOURCE_WIDGET_KEY = "quiz_source_input"
CELL_WIDTH = 300  # on-screen pixels
HEATMAP_CAPTION = ("Grad-CAM for the model's call: red marks what raised its score most. It shows where the model "
                   "looked, not whether it was right.")


def source_ui(pools: dict[str, list[Sample]], is_demo: bool) -> str | None:
    """The source of this round's cells (a choice when both have cells, fixed once a cell is answered), or None."""
    options = [source for source in SOURCES if pools.get(source)]
    if not options:
        return None
    stored = st.session_state.get(state.QUIZ_SOURCE_KEY)
    current = stored if stored in options else default_source(pools, is_demo)
    if len(options) > 1:
        locked = bool(state.quiz_answers())
        current = st.radio("Cells from", options, index=options.index(current), format_func=SOURCE_NAMES.get,
                           horizontal=True, key=SOURCE_WIDGET_KEY, disabled=locked,
                           help="Restart the quiz to change the source." if locked else None)
    if current != stored:
        state.restart_quiz(current)
    return current


def round_cells(pools: dict[str, list[Sample]], source: str) -> list[Sample]:
    """This round's cells: drawn once (balanced, seeded per round) and kept in session state."""
    drawn = st.session_state.get(state.QUIZ_CELLS_KEY)
    if drawn is None or drawn[0] != source:
        drawn = (source, draw_cells(pools[source], config.QUIZ_LENGTH, st.session_state[state.QUIZ_SEED_KEY]))
        st.session_state[state.QUIZ_CELLS_KEY] = drawn
    return drawn[1]


def round_notes(source: str, is_demo: bool, cells: list[Sample]) -> list[str]:
    """What limits this round's comparison with the model (`core.reporting.quiz.comparison_notes`)."""
    index = cache.get_dataset_index()
    return comparison_notes(source, is_demo, index is not None and is_synthetic(index.root), cells)


def render_notes(notes: list[str]) -> None:
    if notes:
        st.warning("\n".join(f"- {note}" for note in notes), icon=":material/report:")


def _decoded(sample: Sample):
    """The cell's (H, W, 3) uint8 RGB pixels, or None after showing why it could not be read."""
    try:
        data = Path(sample.path).read_bytes()
        return image_cache.decode_upload(data, Path(sample.path).name).image_rgb
    except OSError as error:
        st.error(f"This cell could not be read ({error.strerror}). Restart the quiz to draw other cells.")
    except LeukemiaAppError as error:
        st.error(f"This cell could not be read: {plain(str(error))} Restart the quiz to draw other cells.")
    return None


def question_ui(sample: Sample, number: int, total: int) -> tuple[str, float] | None:
    """Show cell `number` without its answer; (call, confidence in [0.5, 1]) once the student checks, else None."""
    st.subheader(f"Cell {number} of {total}", anchor=False)
    image_rgb = _decoded(sample)
    if image_rgb is None:
        return None
    st.image(image_rgb, width=CELL_WIDTH)
    suffix = f"{st.session_state[state.QUIZ_SEED_KEY]}_{number}"  # Fresh widgets for every cell of every round.
    with st.form(f"quiz_form_{suffix}", border=False):  # One script run per answer, not one per widget change.
        call = st.radio("Your answer", labels.LABELS, index=None, format_func=labels.LONG_NAMES.get, horizontal=True,
                        key=f"quiz_call_{suffix}")
        low, high = config.QUIZ_CONFIDENCE_PERCENT
        confidence = st.slider("How sure are you?", low, high, config.QUIZ_DEFAULT_CONFIDENCE_PERCENT, step=5,
                               format="%d%%", key=f"quiz_confidence_{suffix}",
                               help="50% is a guess, 100% is certain. It sets your Brier score.")
        checked = st.form_submit_button("Check my answer", type="primary", icon=":material/check:")
    if not checked:
        return None
    if call is None:
        st.warning("Choose ALL or Healthy first, then check your answer.", icon=":material/touch_app:")
        return None
    return call, confidence / 100


def check_answer(sample: Sample, call: str, confidence: float, classifier) -> None:
    """Ask the model about the cell (the Classify path), record both answers and reveal; or show why not."""
    outcome = process_file(Path(sample.path), classifier, sample.label, sample.side)
    if outcome.error:
        st.error(f"{plain(outcome.error)} Restart the quiz to draw other cells.", icon=":material/error:")
        return
    state.quiz_answers().append(answer_from(outcome.name, sample.label, call, confidence, outcome.assessment, sample.side))
    state.set_quiz_revealed(True)
    st.rerun()


def render_reveal(sample: Sample, number: int, total: int, classifier) -> None:
    """The truth, the student's answer, the model's answer with its limits and its heatmap, for the last cell."""
    answer = state.quiz_answers()[-1]
    outcome = process_file(Path(sample.path), classifier, sample.label, sample.side)  # Cached: no second model run.
    verdict = "right" if answer.call == answer.truth else "wrong"
    st.subheader(f"Cell {number} of {total}: {labels.display_name(answer.truth)}", anchor=False)
    st.caption(plain(f"{answer.cell}, {answer.side}. Its label in the dataset is the truth here."))
    if outcome.error:
        st.error(plain(outcome.error), icon=":material/error:")
        return
    assessment = outcome.assessment
    picture, heatmap, words = st.columns([1, 1, 1.4])
    picture.image(outcome.image_rgb, caption="The cell", width="stretch")
    model_input = outcome.analysis.stages.model_input
    drawn = explain_cache.answer_gradcam(classifier, outcome.digest, model_input, explained_class(assessment))
    if drawn is not None:  # The quiz goes on without the heatmap when explaining fails (logged).
        heatmap.image(drawn[1], caption=HEATMAP_CAPTION, width="stretch")
    words.markdown(f"**You:** {labels.display_name(answer.call)}, {answer.confidence:.0%} sure: **{verdict}**.")
    model_line = f"**The model:** {answer_text(assessment)} (P(ALL) = {answer.model_probability_all:.3f})"
    if assessment.answer == labels.REFER:
        model_line += f"; its threshold alone says {labels.display_name(assessment.label)}"
    words.markdown(model_line + ".")
    with words:
        render_qualifications(assessment)


def render_scores(answers: list) -> None:
    """The running score, the student's beside the model's, on the same cells."""
    st.markdown(f"**Score after {len(answers)} cell{'s' if len(answers) != 1 else ''}** (you and the model, same cells)")
    st.table(pd.DataFrame(score_rows(answers)).set_index("measure"))
    st.caption(SCORING_NOTE)


def render_summary(answers: list, notes: list[str], classifier) -> None:
    """The end of a round: the scores, every cell, and the summary as CSV and HTML downloads."""
    st.subheader(f"Your summary: {len(answers)} cells", anchor=False)
    render_scores(answers)
    st.dataframe(pd.DataFrame(answer_rows(answers)), hide_index=True)
    loaded = classifier.loaded
    left, right = st.columns(2)
    left.download_button("Download the summary (HTML)", summary_html(answers, notes, loaded.metadata, loaded.sha256),
                         file_name="quiz-summary.html", mime="text/html", icon=":material/download:", on_click="ignore")
    right.download_button("Download the answers (CSV)", summary_csv(answers), file_name="quiz-answers.csv",
                          mime="text/csv", icon=":material/download:", on_click="ignore")
    st.caption("Nothing of this quiz is stored: it lasts as long as this browser session.")


def restart_ui() -> None:
    st.button("Restart the quiz (new cells)", on_click=state.restart_quiz, icon=":material/restart_alt:", key="quiz_restart")
