"""The Model card page's widgets: integrity, what the model is, metrics with the threshold slider, the plots."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core import config
from core.errors import ModelError
from core.model.calibration import Calibration
from core.data.labels import THRESHOLD_DIGITS, display_name, format_threshold
from core.data.sides import SET_TITLES
from core.reporting import calibration_card, figures, model_card, ood_card
from core.reporting.operating_points import GRID_STEP
from ui import cache, state
from ui.messages import plain, show_error

EVALUATION_TITLES = SET_TITLES
DEMO_WARNING = ("It learned synthetic cells drawn by this app and says nothing about real blood cells: "
                "its metrics describe synthetic data only.")
SHA_MESSAGES = {
    "match": (st.success, "The model file's SHA-256 matches the one recorded at training time."),
    "mismatch": (st.error, "The model file's SHA-256 does NOT match its model card: the file changed after "
                           "training, so these numbers may not describe it. Retrain or restore the file."),
    "not recorded": (st.warning, "The model card records no SHA-256, so the file cannot be checked against it."),
    "file missing": (st.warning, "The model file itself is missing: this card describes a file that is not there."),
}


def facts_table(pairs: list[tuple[str, str]]) -> None:
    st.table(pd.DataFrame(pairs, columns=["", "value"]).set_index(""))


def integrity_ui(metadata: dict) -> None:
    """Whether the file on disk is the one the card describes, and why it failed to load, if it did.

    The card never loads the model itself: the hash of the file is enough, and the sidebar has
    already tried to load it (recording any error in the session) on every page.
    """
    path = state.model_path()
    actual = cache.file_sha256(str(path), cache.file_stamp(path))
    show, message = SHA_MESSAGES[model_card.sha_status(metadata.get("sha256"), actual)]
    show(message)
    if state.model_error() and path.is_file():
        show_error(f"The model does not load: {state.model_error()}")


def about_ui(metadata: dict) -> None:
    """Identity, intended use, out-of-scope uses and the training data with its split."""
    if metadata.get("is_demo"):
        st.warning(f"**Demo model.** {DEMO_WARNING}", icon=":material/warning:")
        if metadata.get("demo_note"):
            st.caption(plain(metadata["demo_note"]))
    facts_table(model_card.identity_facts(metadata))
    st.subheader("Intended use", anchor=False)
    st.markdown(model_card.INTENDED_USE + f" {config.DISCLAIMER}")
    st.subheader("Out of scope", anchor=False)
    st.markdown(model_card.OUT_OF_SCOPE)
    st.subheader("Training data and split", anchor=False)
    facts_table(model_card.split_facts(metadata))
    for note in (metadata.get("split") or {}).get("notes") or []:
        st.warning(plain(note))
    st.markdown("**Which figures are in-sample, and for what**\n\n" + "\n".join(
        f"- **{row['Set']}** (used for {row['Used for']}): {row['Its figures']}" for row in model_card.in_sample_rows(metadata)))


@st.fragment
def threshold_ui(evaluation: dict, set_name: str, model_threshold: float) -> None:
    """A threshold slider with the sensitivity, specificity, confusion matrix and ROC point it gives on this set.

    A fragment: moving the slider reruns only this section, which reads the precomputed
    `ThresholdCurves` (an index into arrays) instead of the whole page.
    """
    curves = cache.threshold_curves(set_name, model_threshold)
    if curves is None:
        if evaluation.get("confusion_matrix"):
            st.plotly_chart(figures.confusion_figure(evaluation["confusion_matrix"]))
        return
    threshold = st.slider("Decision threshold on P(ALL)", 0.0, 1.0, round(curves.model_threshold, THRESHOLD_DIGITS),
                          GRID_STEP, format=f"%.{THRESHOLD_DIGITS}f", key=f"threshold_{set_name}",
                          help="Move it to see how finding more ALL cells costs more false alarms.")
    sensitivity, specificity = curves.rates(threshold)
    left, right = st.columns(2)
    left.metric("Sensitivity (ALL cells found)", f"{sensitivity:.1%}")
    right.metric("Specificity (Healthy cells cleared)", f"{specificity:.1%}")
    if curves.totals:
        healthy, leukemic = curves.totals
        st.caption(f"At threshold {format_threshold(threshold)}: of these {leukemic:,} ALL cells about "
                   f"{sensitivity * leukemic:,.0f} are found; of the {healthy:,} Healthy cells about "
                   f"{(1 - specificity) * healthy:,.0f} are wrongly called ALL.")
    matrix = curves.confusion(threshold)
    if matrix:
        exact = curves.is_model_threshold(threshold)
        title = (f"Confusion matrix at threshold {format_threshold(threshold)}"
                 + (" (the model's)" if exact else " (counts read off the ROC curve)"))
        left.plotly_chart(figures.confusion_figure(matrix, title))
    right.plotly_chart(figures.roc_figure(evaluation["roc_curve"], (sensitivity, specificity)))


def evaluation_ui(metadata: dict) -> None:
    """Metrics against the always-ALL baseline, the threshold trade-off and the evaluation plots."""
    evaluations = {name: value for name, value in (metadata.get("evaluation") or {}).items() if isinstance(value, dict)}
    if not evaluations:
        st.info("This model card holds no evaluation: retrain with `python train.py` to record one.")
        return
    name = st.radio("Evaluated on", list(evaluations), format_func=lambda value: EVALUATION_TITLES.get(value, value),
                    key="model_card_set")
    evaluation = evaluations[name]
    st.caption(f"{evaluation.get('n_images', '?')} images from {evaluation.get('n_subjects', '?')} subjects. "
               "The 95% interval comes from resampling subjects, not single images. " + model_card.SET_NOTES.get(name, ""))
    st.table(pd.DataFrame(model_card.metrics_rows(evaluation)).set_index("Metric"))
    threshold_ui(evaluation, name, float(metadata.get("threshold", config.DEFAULT_THRESHOLD)))
    left, right = st.columns(2)
    if (evaluation.get("calibration") or {}).get("after"):
        left.plotly_chart(figures.reliability_before_after_figure(evaluation["calibration"]))
    elif evaluation.get("calibration"):
        left.plotly_chart(figures.calibration_figure(evaluation["calibration"]))
    if evaluation.get("pr_curve"):
        right.plotly_chart(figures.pr_figure(evaluation["pr_curve"], model_card.prevalence(evaluation)))
    calibration_ui(evaluation)
    if evaluation.get("per_subject"):
        with st.expander("Accuracy per subject: do some people's cells fool the model?"):
            table = pd.DataFrame(evaluation["per_subject"])
            if "label" in table:
                table["label"] = table["label"].map(display_name)
            st.dataframe(table, hide_index=True)


def calibration_ui(evaluation: dict) -> None:
    """ECE and Brier before and after temperature scaling, and the conformal coverage plot, for one set."""
    report = evaluation.get("calibration") or {}
    if "after" not in report:
        return
    st.subheader("Calibration and conformal sets on this set", anchor=False)
    if report.get("note"):
        st.caption(f"Here {report['note']}.")
    st.table(pd.DataFrame(calibration_card.calibration_rows(evaluation)).set_index("Metric"))
    if evaluation.get("conformal"):
        st.plotly_chart(figures.coverage_figure(evaluation["conformal"]))


def conformal_ui(metadata: dict) -> None:
    """An error-rate input, and the per-class thresholds and refer rates it gives; a note for models without them."""
    try:
        calibrated = Calibration.from_metadata(metadata)
    except ModelError as error:
        show_error(error)
        return
    if calibrated is None:
        st.info(calibration_card.CALIBRATION_MISSING.format(path=state.model_path()), icon=":material/info:")
        return
    st.markdown(f"P(ALL) is calibrated by temperature scaling (T = {calibrated.temperature:.3f}, fitted on the "
                f"{calibrated.fitted_on}). **The prediction set decides:** a cell is answered ALL or Healthy only when "
                "its set holds exactly that class and the cell is in scope and in distribution; a set of both classes, "
                "or of neither, is referred to a person, and the threshold's label is shown beside it as secondary "
                "information only.")
    if calibration_card.temperature_note(calibrated.temperature):
        st.warning(calibration_card.temperature_note(calibrated.temperature))
    error_rate = state.error_rate()
    st.markdown(f"At an error rate α of **{100 * error_rate:g}%** (set in the sidebar; lower means more referrals):")
    st.table(pd.DataFrame(calibration_card.conformal_rows(calibrated, error_rate)).set_index("Class"))
    st.caption(calibration_card.GUARANTEE_LINE + " Refer rates here are on the cells the thresholds come from"
               f" (the {calibrated.fitted_on}): in-sample.")


def ood_ui(metadata: dict) -> None:
    """What makes a cell "unlike the known cells", and its score's distribution for in-distribution and shifted cells."""
    entry = metadata.get("embedding_index")
    st.markdown(ood_card.ood_text(entry))
    rows = ood_card.shift_rows(entry) if isinstance(entry, dict) else []
    if not rows:
        return
    st.plotly_chart(ood_card.ood_figure(entry))
    st.table(pd.DataFrame(rows).set_index("cells"))
    st.caption("Shifted: the calibration cells with another stain (hue turned), blurred, saved as JPEG, or imaged at "
               "a lower scale, each at a middle strength (`core.imaging.shifts`). The calibration cells also set the "
               "threshold, so their flagged share is 5% by construction; the README's study checks it on the external set.")
