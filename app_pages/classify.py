"""Classify: upload cell images (or pick samples) and see the answer, how it was reached and how sure it is."""
import streamlit as st

from core.errors import LeukemiaAppError
from ui import cache, classify_widgets, field_widgets, first_launch, image_cache, messages, result_widgets, stain

st.title("Classify a cell")
st.caption(
    "Upload microscope images of single, segmented white blood cells on a black background "
    "(as in C-NMC 2019), or photos of stained smear fields and analyser crops, whose whole white cells are found "
    "and answered one by one; each gets ALL or Healthy, with the steps and the uncertainty behind it."
)


def classify_page() -> None:
    """Load the model, collect images, classify each one, draw the results."""
    classifier = cache.get_classifier()
    if classifier is None:
        first_launch.render_model_missing()
        return
    items = classify_widgets.render_upload_ui(cache.get_dataset_index(), cache.get_split_sides(classifier))
    if stain.stain_note(classifier.loaded.metadata):  # The toggle is on, but this model records no stain.
        st.caption(stain.stain_note(classifier.loaded.metadata))
    if not items:
        st.info("Upload one or more images, or choose sample cells, to see the model's answer.", icon=":material/upload:")
        return
    try:  # New images take one turn among all sessions' for the rest of the run: their answers, then the report.
        with image_cache.turns_for_this_run():
            render_answers(items, classifier)
    except LeukemiaAppError as error:  # The report's turn did not come.
        messages.show_error(error, icon=":material/hourglass:")


def render_answers(items: list, classifier) -> None:
    """Classify each image, then draw the errors, the table and the details of the one chosen."""
    processed = classify_widgets.process_all(items, classifier)
    outcomes = field_widgets.render_fields(processed, classifier)  # A smear field: outlined, numbered, its cells answered.
    for outcome in outcomes:
        if outcome.error:
            messages.show_error(outcome.error, icon=":material/error:")
    classified = [outcome for outcome in outcomes if outcome.analysis is not None]
    if not classified:
        return
    if len(outcomes) > 1:
        st.subheader("All images and cells" if any(outcome.in_field for outcome in outcomes) else "All images", anchor=False)
        classify_widgets.render_results_table(outcomes)
    shown = classified[0]
    if len(classified) > 1:
        choices = {f"{number}. {outcome.name}": outcome for number, outcome in enumerate(classified, start=1)}
        # The newest image by default: files are added one after another, and that is the one to see.
        shown = choices[st.selectbox("Show the details of", list(choices), index=len(choices) - 1, key="classify_detail")]
    field_widgets.remember_for_explain(shown, classifier)
    result_widgets.render_result(shown, classifier)
    if len(outcomes) == 1:  # One image still gets its table row and CSV, below its details.
        classify_widgets.render_results_table(outcomes)


classify_page()
