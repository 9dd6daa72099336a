"""In a real browser: a noise image and a grayscale cell are qualified on every surface; samples say their side.

The app runs with the `demo_server` fixture: the tiny model with a demo sidecar and a split CSV beside it.
"""
from __future__ import annotations

import csv

import cv2
import numpy as np
import pytest
from streamlit_page import RESULT_TIMEOUT_MS, download, go_to, open_app, result_heading, upload, wait_idle

from core.data.sides import SEEN_IN_TRAINING, SIDE_NAMES, real_cell_samples
from core.imaging.decode import load_image
from core.model.assessment import DEMO_SENTENCE, REFER_OUT_OF_SCOPE

try:
    from playwright.sync_api import expect
except ImportError:  # conftest skips every test of this folder then.
    expect = None

HELD_OUT = SIDE_NAMES["validation"]


def png(image_rgb: np.ndarray) -> bytes:
    return cv2.imencode(".png", cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR))[1].tobytes()


@pytest.fixture(scope="module")
def risky_files() -> list[tuple[str, bytes, str]]:
    # Dark enough that its border is no smear field's (a light border is one: tests/pages/test_fields.py).
    noise_rgb = np.random.default_rng(0).integers(0, 160, (200, 200, 3), dtype=np.uint8)
    cell_rgb = load_image(real_cell_samples()[0].path).image_rgb
    gray_rgb = cv2.cvtColor(cv2.cvtColor(cell_rgb, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    return [("noise.png", png(noise_rgb), "image/png"), ("gray_cell.png", png(gray_rgb), "image/png")]


def test_noise_and_grayscale_are_qualified_everywhere(page, demo_server, risky_files, tmp_path):
    open_app(page, demo_server)
    upload(page, risky_files)
    main = page.get_by_test_id("stMain")
    for name in ("gray_cell.png", "noise.png"):
        if name == "noise.png":
            wait_idle(page)  # A rerun still running would close the dropdown under the click.
            box = page.get_by_test_id("stSelectbox").filter(has_text="Show the details of")
            box.get_by_role("button", name="Open").click()  # the selectbox's own opener, not its label
            page.get_by_role("option").filter(has_text="noise.png").click()
        expect(result_heading(page, name)).to_contain_text(REFER_OUT_OF_SCOPE, timeout=RESULT_TIMEOUT_MS)
        expect(main.get_by_test_id("stAlert").filter(has_text=DEMO_SENTENCE)).to_be_visible()
        expect(page.get_by_test_id("stMetric").filter(has_text="P(ALL)")).to_have_count(0)
        wait_idle(page)
        report = download(page, "Download a report (HTML)", tmp_path / f"{name}.html")
        assert DEMO_SENTENCE in report and REFER_OUT_OF_SCOPE in report, f"the report of {name}"
    expect(page.get_by_test_id("stDataFrame")).to_be_visible()
    rows = list(csv.DictReader(download(page, "Download the table (CSV)", tmp_path / "table.csv").splitlines()))
    assert [row["file"] for row in rows] == ["noise.png", "gray_cell.png"]
    for row in rows:
        assert row["answer"] == REFER_OUT_OF_SCOPE and DEMO_SENTENCE in row["limits"]
    go_to(page, "Explain")
    expect(page.locator("h3").filter(has_text="noise.png")).to_contain_text(REFER_OUT_OF_SCOPE, timeout=RESULT_TIMEOUT_MS)
    expect(main.get_by_test_id("stAlert").filter(has_text=DEMO_SENTENCE)).to_be_visible()


def test_samples_say_which_side_of_training_they_were_on(page, demo_server):
    open_app(page, demo_server)
    page.get_by_test_id("stMultiSelect").filter(has_text="sample cells").click()
    options = page.get_by_role("option").filter(has_text=".bmp")  # Not Streamlit's "Select all".
    expect(options.first).to_contain_text(HELD_OUT, timeout=RESULT_TIMEOUT_MS)
    page.keyboard.type(SEEN_IN_TRAINING)  # The list is virtualised: filter it to reach the later options.
    expect(options.first).to_contain_text(SEEN_IN_TRAINING)
    page.keyboard.press("Control+A")
    page.keyboard.press("Backspace")
    expect(options.first).to_contain_text(HELD_OUT)
    options.first.click()
    page.keyboard.press("Escape")
    expect(page.get_by_text(f"Sample: {HELD_OUT}.")).to_be_visible(timeout=RESULT_TIMEOUT_MS)
