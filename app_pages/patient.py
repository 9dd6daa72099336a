"""Patient: many cells of one person in, one answer about the person out, with its uncertainty."""
import streamlit as st

from core.errors import InferenceServiceError

from ui import cache, first_launch, patient_results, patient_widgets
from ui.messages import plain, show_error

st.title("Patient view")
st.caption(
    "A hematologist decides about a person from many cells, not from one. Give the cells of one person "
    "(files, a folder, a zip, or a held-out subject of the dataset); each cell is assessed as on Classify "
    "(without the 8-view uncertainty) and the answers are combined into one answer about the person."
)


def patient_page() -> None:
    """Load the model, collect one person's cells, assess them in batches, draw the answer and the cells."""
    classifier = cache.get_classifier()
    if classifier is None:
        first_launch.render_model_missing()
        return
    patient = patient_widgets.render_input_ui(classifier)
    last, stale = patient_widgets.last_view(classifier)
    if patient is not None:
        try:
            view = patient_widgets.analyse(patient, classifier)
        except InferenceServiceError as error:  # LEUKEMIA_INFERENCE_URL's service stopped answering
            show_error(error, icon=":material/cloud_off:")
            return
        if view is None:  # Past one person's limits: said on the page.
            return
    elif last is not None:
        view = last
        st.caption(f"The person last answered in this session ({plain(view.subject)}); "
                   "choose cells above to answer about another.")
    else:
        st.info(stale or "Give the cells of one person to see the answer about them.", icon=":material/group:")
        return
    answer = patient_results.subject_answer(view, classifier)
    patient_results.render_answer(view, answer, classifier)
    patient_results.render_charts(view, answer, classifier)
    patient_results.render_downloads(view, answer, classifier)
    patient_results.render_gallery(view, patient)


patient_page()
