"""The Model card's subject-level section: one answer per person from their cells, and how many cells are enough.

Renders the sidecar's "subject_evaluation" (`core.reporting.subject_card` shapes the text and the
figure); a model saved without it gets a note naming the command that adds it.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core.reporting import subject_card
from ui import state
from ui.messages import plain

MISSING = ("This model card holds no subject-level evaluation: the model was saved before training wrote one. "
           "Add it in seconds, without retraining: `python -m core.cli.subjects --model {path}`.")


def subject_evaluation_ui(metadata: dict) -> None:
    """The section's header, then one tab per evaluated set (held-out subjects, external set)."""
    st.header("One answer per person: subject-level evaluation", anchor=False)
    found = metadata.get("subject_evaluation")
    if not isinstance(found, dict):
        if metadata.get("evaluation"):
            st.info(MISSING.format(path=state.model_path()), icon=":material/info:")
        return
    st.markdown(subject_card.method_text(found.get("rule", "")))
    for note in found.get("notes") or []:
        st.warning(plain(note))
    sets = [key for key in subject_card.SET_TITLES if isinstance(found.get(key), dict)]
    for key, tab in zip(sets, st.tabs([subject_card.SET_TITLES[key] for key in sets])):
        with tab:
            if key == "held_out":
                st.caption(subject_card.held_out_note(metadata))
            subject_set_ui(found[key], found.get("rule", ""))


def subject_set_ui(found: dict, rule: str) -> None:
    """One set: the few-subjects warning, accuracy and AUC, the per-subject table, the rules and the curve."""
    summary = found.get("summary") or {}
    st.warning(subject_card.few_subjects_text(summary), icon=":material/group:")
    st.table(pd.DataFrame(subject_card.summary_rows(summary)).set_index("Metric"))
    st.dataframe(pd.DataFrame(subject_card.subject_rows(found.get("rows") or [])), hide_index=True)
    if found.get("rules"):
        st.markdown("**Aggregation rules compared on the same subjects**")
        st.table(pd.DataFrame(subject_card.rule_rows(found["rules"], rule)).set_index("Rule"))
    if found.get("cells_needed"):
        st.plotly_chart(subject_card.cells_needed_figure(found["cells_needed"]))
        stable = subject_card.stable_text(found)
        st.caption(stable or "Even with all their cells drawn at random, fewer than 95% of these subjects "
                             "reach the answer all their cells give.")
