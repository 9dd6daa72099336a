"""In a real browser: a student runs the quiz through ten cells to its summary and downloads it.

The app runs with the `demo_server` fixture (the tiny model with a demo sidecar and a split CSV), so
the cells are held-out synthetic ones and every heatmap comes from the tiny model.
"""
from __future__ import annotations

from streamlit_page import RESULT_TIMEOUT_MS, download, go_to, open_app, wait_idle, wait_images_loaded

from core import config
from core.data.labels import ALL, HEM, LONG_NAMES
from core.model.assessment import DEMO_SENTENCE

try:
    from playwright.sync_api import expect
except ImportError:  # conftest skips every test of this folder then.
    expect = None


def test_ten_cells_to_the_summary(page, demo_server, tmp_path):
    open_app(page, demo_server)
    go_to(page, "Quiz")
    main = page.get_by_test_id("stMain")
    expect(main.get_by_test_id("stAlert").filter(has_text=DEMO_SENTENCE)).to_be_visible(timeout=RESULT_TIMEOUT_MS)
    total = config.QUIZ_LENGTH
    for number in range(1, total + 1):
        expect(page.locator("h3").filter(has_text=f"Cell {number} of {total}")).to_be_visible(timeout=RESULT_TIMEOUT_MS)
        wait_images_loaded(page)  # the cell, shown without its name
        call = ALL if number % 3 else HEM
        page.get_by_test_id("stRadio").filter(has_text="Your answer").get_by_text(LONG_NAMES[call]).click()
        page.get_by_role("button", name="Check my answer").click()
        expect(page.locator("h3").filter(has_text=f"Cell {number} of {total}: ")).to_be_visible(timeout=RESULT_TIMEOUT_MS)
        expect(main.get_by_text(f"of {number} (").first).to_be_visible(timeout=RESULT_TIMEOUT_MS)  # the running score
        wait_images_loaded(page, minimum=2)  # the cell and the model's heatmap
        wait_idle(page)
        page.get_by_role("button", name="See the summary" if number == total else "Next cell").click()
    expect(page.locator("h3").filter(has_text=f"Your summary: {total} cells")).to_be_visible(timeout=RESULT_TIMEOUT_MS)
    summary = download(page, "Download the summary (HTML)", tmp_path / "quiz-summary.html")
    assert f"Quiz summary: {total} cells" in summary and DEMO_SENTENCE in summary
    assert summary.count("<tr><td>") >= total + 5  # every cell and the five score rows
