"""The Model card's subject-level section as a person sees it: a tab per set, the table, the cells-needed curve.

The app runs on the session's demo run (`train.py --demo --dry-run`), whose sidecar holds "subject_evaluation".
"""
from __future__ import annotations

from playwright.sync_api import expect
from streamlit_page import RESULT_TIMEOUT_MS, open_app

from core.reporting.subject_card import SET_TITLES


def test_each_set_shows_its_subjects_and_the_cells_needed_curve(page, start_app, trained_model_path, trained_sidecar):
    open_app(page, start_app(trained_model_path).url, "model")
    section = page.get_by_test_id("stTabs")
    expect(section).to_be_visible(timeout=RESULT_TIMEOUT_MS)
    for key in ("held_out", "external"):
        section.get_by_role("tab", name=SET_TITLES[key]).click()
        panel = section.get_by_role("tabpanel").filter(visible=True)
        subjects = trained_sidecar["subject_evaluation"][key]["summary"]["subjects"]
        expect(panel.get_by_text(f"These figures rest on {subjects} subject")).to_be_visible(timeout=RESULT_TIMEOUT_MS)
        expect(panel.get_by_test_id("stDataFrame")).to_be_visible(timeout=RESULT_TIMEOUT_MS)  # Loaded lazily.
        chart = panel.get_by_test_id("stPlotlyChart")
        expect(chart.locator(".main-svg").first).to_be_visible(timeout=RESULT_TIMEOUT_MS)
        expect(chart).to_contain_text("How many cells are enough")
