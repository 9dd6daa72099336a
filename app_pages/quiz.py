"""Quiz: students call cells ALL or Healthy, then see the truth and the model's answer, scored side by side."""
import streamlit as st

from ui import cache, cohort_cache, first_launch, quiz_widgets, state

st.title("Quiz: ALL or Healthy?")
st.caption(
    "Cells one at a time, without their answer: say ALL or Healthy and how sure you are, then see the truth, the "
    "model's answer and where it looked. You and the model are scored on the same cells; nothing is stored."
)


def quiz_page() -> None:
    """Choose the cells, then ask, reveal and score one cell at a time; a summary at the end."""
    classifier = cache.get_classifier()
    if classifier is None:
        first_launch.render_model_missing()
        return
    pools = cohort_cache.get_quiz_pools(classifier)
    is_demo = bool(classifier.loaded.metadata.get("is_demo"))
    source = quiz_widgets.source_ui(pools, is_demo)
    if source is None:
        st.info("There are no labelled cells to quiz on: the real cells in `data/real_cells/` are missing and the "
                "dataset in use has no held-out subjects or external set. Build the demo model (Classify page) or "
                "point `LEUKEMIA_DATA_DIR` at a C-NMC folder.", icon=":material/quiz:")
        return
    cells = quiz_widgets.round_cells(pools, source)
    notes = quiz_widgets.round_notes(source, is_demo, cells)
    quiz_widgets.render_notes(notes)
    answers = state.quiz_answers()
    if state.quiz_revealed():
        quiz_widgets.render_reveal(cells[len(answers) - 1], len(answers), len(cells), classifier)
        quiz_widgets.render_scores(answers)
        last = len(answers) >= len(cells)
        st.button("See the summary" if last else "Next cell", type="primary", key="quiz_next",
                  icon=":material/summarize:" if last else ":material/arrow_forward:",
                  on_click=state.set_quiz_revealed, args=(False,))
    elif len(answers) < len(cells):
        response = quiz_widgets.question_ui(cells[len(answers)], len(answers) + 1, len(cells))
        if response is not None:
            quiz_widgets.check_answer(cells[len(answers)], *response, classifier)
    else:
        quiz_widgets.render_summary(answers, notes, classifier)
    quiz_widgets.restart_ui()


quiz_page()
