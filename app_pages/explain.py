"""Explain: where the model looked in a cell image, with Grad-CAM and related methods."""
import streamlit as st

from core.errors import LeukemiaAppError
from core.imaging.fields.lineage import LYMPHOID_ONLY_NOTE
from core.model.answering import answer_analysis, explained_class
from core.model.assessment import answer_text
from ui import cache, explain_cache, explain_widgets, first_launch, image_cache, result_widgets, state
from ui.messages import plain, show_error

st.title("Explain an answer")
st.caption("See which parts of the cell image drove the model's score for a class.")


def explain_page() -> None:
    """Load the model, choose an image and options, then draw heatmaps, comparison and sanity check."""
    classifier = cache.get_classifier()
    if classifier is None and first_launch.render_build_notice():
        return
    if classifier is None:
        st.info("There is no model to explain yet: build the demo model from the Classify page, or point "
                "`LEUKEMIA_MODEL` at a trained model.", icon=":material/model_training:")
        if state.model_error():
            st.caption(f"Why: {plain(state.model_error())}")
        return
    chosen = explain_widgets.choose_image_ui(classifier)
    if chosen is None:
        st.info("Classify an image first, upload one, or pick a sample to see where the model looked.")
        return
    name, digest, image_rgb, side, field_analysis = chosen  # a smear field's cell comes with Classify's analysis
    try:
        analysis = field_analysis or image_cache.analyze_image(digest, cache.model_key(classifier), classifier, image_rgb)
        analysis, assessment = answer_analysis(classifier, analysis, state.error_rate(), side)
    except LeukemiaAppError as error:  # an unusable image, or an inference service that stopped answering
        show_error(f"{name}: {error}", icon=":material/error:")
        return
    stages = analysis.stages
    # A referred image keeps its P(ALL) out of the headline (the Classify page shows it in an expander).
    headline = answer_text(assessment) if assessment.out_of_scope else (
        f"the model answers {answer_text(assessment)} (P(ALL) = {assessment.probability_all:.3f})")
    st.subheader(f"{plain(name)}: {headline}", anchor=False)
    result_widgets.render_qualifications(assessment)
    if field_analysis is not None:
        st.info(LYMPHOID_ONLY_NOTE, icon=":material/info:")
    options = explain_widgets.options_ui(explained_class(assessment))
    heatmap = explain_cache.get_heatmap(classifier, digest, stages.model_input, options.method, options.target, options.layer)
    faithfulness = explain_cache.get_faithfulness(classifier, digest, stages, options.method, options.target, options.layer)
    explain_widgets.render_heatmaps(name, image_rgb, stages, heatmap, options, faithfulness)
    explain_widgets.render_comparison(classifier, digest, stages, options)
    explain_widgets.render_sanity_check(classifier, digest, stages.model_input, options)


explain_page()
