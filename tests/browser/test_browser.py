"""The app in a real headless Chromium: upload, answer, explain, errors, every page's frame."""
from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from streamlit_page import (
    HEADINGS,
    RESULT_TIMEOUT_MS,
    frame_notice,
    go_to,
    open_app,
    result_heading,
    upload,
    wait_idle,
    wait_images_loaded,
)

from core import config
from ui.navigation import SCREENS, address

try:
    from playwright.sync_api import expect
except ImportError:  # conftest skips every test of this folder then.
    expect = None

# Each screen's title, and the name of its screenshot (its script's, e.g. "classify").
PAGE_TITLES = {screen.title: Path(screen.script).stem for screen in SCREENS}
ADDRESSES = {screen.title: address(screen) for screen in SCREENS}


@pytest.fixture(scope="module")
def cells(synthetic_data_root) -> list[bytes]:
    return [path.read_bytes() for path in sorted((synthetic_data_root / "training_data").rglob("*.bmp"))]


def test_upload_shows_answer_and_probability(page, server, cells, screenshots):
    open_app(page, server)
    started = time.perf_counter()
    upload(page, [("browser_cell.bmp", cells[0], "image/bmp")])
    expect(result_heading(page, "browser_cell.bmp")).to_be_visible(timeout=RESULT_TIMEOUT_MS)
    print(f"\nupload to answer: {time.perf_counter() - started:.2f} s")
    expect(result_heading(page, "browser_cell.bmp")).to_have_text(re.compile(r": (ALL|Healthy)$"))
    metrics = page.get_by_test_id("stMetric")
    expect(metrics.filter(has_text="Answer")).to_contain_text(re.compile(r"ALL|Healthy"))
    expect(metrics.filter(has_text="P(ALL)")).to_contain_text(re.compile(r"\d\.\d{3}"))
    expect(metrics.filter(has_text="Threshold")).to_contain_text("0.500")
    expect(page.get_by_test_id("stImage")).to_have_count(4)
    wait_idle(page)
    wait_images_loaded(page, minimum=4)
    page.screenshot(path=str(screenshots / "classify.png"), full_page=True)


def test_report_download_is_a_complete_html_file(page, server, cells, tmp_path):
    open_app(page, server)
    upload(page, [("for_report.bmp", cells[4], "image/bmp")])
    expect(result_heading(page, "for_report.bmp")).to_be_visible(timeout=RESULT_TIMEOUT_MS)
    with page.expect_download(timeout=RESULT_TIMEOUT_MS) as download_info:
        page.get_by_role("button", name="Download a report (HTML)").click()
    report = (tmp_path / "report.html")
    download_info.value.save_as(report)
    html = report.read_text()
    assert "for_report.bmp" in html and config.DISCLAIMER in html
    assert html.count('src="data:image/png;base64,') == 3, "original, model input and Grad-CAM overlay"


def test_explain_shows_a_heatmap_for_the_last_image(page, server, cells, screenshots):
    open_app(page, server)
    upload(page, [("to_explain.bmp", cells[1], "image/bmp")])
    expect(result_heading(page, "to_explain.bmp")).to_be_visible(timeout=RESULT_TIMEOUT_MS)
    go_to(page, "Explain")
    expect(page.get_by_text("to_explain.bmp").first).to_be_visible(timeout=RESULT_TIMEOUT_MS)
    expect(page.get_by_text("Grad-CAM for").first).to_be_visible(timeout=RESULT_TIMEOUT_MS)
    wait_idle(page)
    wait_images_loaded(page, minimum=2)
    page.screenshot(path=str(screenshots / "explain.png"), full_page=True)


def test_corrupt_and_good_files_together(page, server, cells):
    open_app(page, server)
    upload(page, [("corrupt.bmp", cells[2][:300], "image/bmp"), ("fine.bmp", cells[2], "image/bmp")])
    expect(page.get_by_test_id("stAlertContentError").filter(has_text="corrupt.bmp")).to_be_visible(timeout=RESULT_TIMEOUT_MS)
    expect(result_heading(page, "fine.bmp")).to_be_visible(timeout=RESULT_TIMEOUT_MS)
    expect(page.get_by_test_id("stException")).to_have_count(0)


def test_file_name_is_shown_literally(page, server, cells):
    """Markdown in a file name is shown as typed, not rendered (bare URLs may still be autolinked)."""
    name = "[click](x) *bold* `code` _under_.bmp"
    open_app(page, server)
    upload(page, [(name, cells[3], "image/bmp")])
    heading = result_heading(page, name)
    expect(heading).to_be_visible(timeout=RESULT_TIMEOUT_MS)
    expect(heading.locator("a, strong, em, code")).to_have_count(0)


@pytest.mark.parametrize("title", list(PAGE_TITLES))
def test_every_page_has_the_notice_and_no_error(page, server, screenshots, title):
    open_app(page, server, ADDRESSES[title])
    wait_idle(page)
    expect(frame_notice(page)).to_contain_text(config.DISCLAIMER, timeout=RESULT_TIMEOUT_MS)
    expect(page.get_by_test_id("stSidebar")).to_contain_text("tiny.keras")
    expect(page.get_by_test_id("stException")).to_have_count(0)
    if title not in ("Classify", "Explain"):  # Their screenshots show a result instead.
        page.wait_for_function("() => !document.querySelector('[data-testid=\"stSkeleton\"]')")
        page.screenshot(path=str(screenshots / f"{PAGE_TITLES[title]}.png"), full_page=True)


# The tour of the fresh-server test: from Classify through these, and back.
TOUR = ("Explain", "Dataset explorer", "Model card", "About")


def test_a_first_visit_to_classify_on_a_fresh_server_lists_the_screens_and_keeps_uploads(page, start_app, cells):
    """The link people guess, as a fresh server's very first visit: the frame, the screens (never names
    of files such as "streamlit app, about, ...") in the sidebar, and uploads still there after a tour."""
    page.goto(f"{start_app().url}/classify")
    expect(frame_notice(page)).to_contain_text(config.DISCLAIMER, timeout=RESULT_TIMEOUT_MS)
    expect(page.get_by_test_id("stSidebar")).to_contain_text("tiny.keras")
    links = page.get_by_test_id("stSidebarNav").get_by_role("link")
    expect(links).to_have_count(len(PAGE_TITLES))
    expect(links).to_contain_text(list(PAGE_TITLES))  # In this order, case and all.
    upload(page, [(f"tour_{number}.bmp", cells[number], "image/bmp") for number in range(3)])
    expect(result_heading(page, "tour_2.bmp")).to_be_visible(timeout=RESULT_TIMEOUT_MS)
    for title in TOUR:
        go_to(page, title)
        expect(page.get_by_role("heading", name=HEADINGS[title], exact=True)).to_be_visible(timeout=RESULT_TIMEOUT_MS)
        wait_idle(page)
    go_to(page, "Classify")
    expect(page.get_by_text("3 uploaded images")).to_be_visible(timeout=RESULT_TIMEOUT_MS)
    expect(result_heading(page, "tour_2.bmp")).to_be_visible()


def test_uploads_are_still_there_after_visiting_explain(page, server, cells):
    """Streamlit forgets an uploader's files on a page change; the session keeps them (ui.state)."""
    open_app(page, server)
    upload(page, [("kept_one.bmp", cells[5], "image/bmp"), ("kept_two.bmp", cells[6], "image/bmp")])
    expect(result_heading(page, "kept_two.bmp")).to_be_visible(timeout=RESULT_TIMEOUT_MS)
    go_to(page, "Explain")
    expect(page.get_by_role("heading", name="Explain an answer")).to_be_visible(timeout=RESULT_TIMEOUT_MS)
    wait_idle(page)
    go_to(page, "Classify")
    expect(result_heading(page, "kept_two.bmp")).to_be_visible(timeout=RESULT_TIMEOUT_MS)
    expect(page.get_by_text("2 uploaded images")).to_be_visible()
    expect(page.get_by_test_id("stDataFrame")).to_have_count(1)  # The table of both results.
