"""In a real browser: the Patient page answers a zip of cells, a folder and a held-out synthetic subject.

The app runs with the `demo_server` fixture: the tiny model with a demo sidecar and a split CSV beside it.
"""
from __future__ import annotations

import io
import re
import zipfile

from streamlit_page import RESULT_TIMEOUT_MS, download, open_app, wait_idle

from core.data.sides import HELD_OUT_SUBJECTS
from core import config
from core.subjects.summary import DEMO_SUBJECT_SENTENCE

try:
    from playwright.sync_api import expect
except ImportError:  # conftest skips every test of this folder then.
    expect = None


def cells_used(page, count: int):
    """The "Cells used" metric once it reads "<used> of <count>"."""
    metric = page.get_by_test_id("stMetric").filter(has_text="Cells used")
    expect(metric).to_contain_text(re.compile(rf"\d+ of {count}$"), timeout=RESULT_TIMEOUT_MS)
    return metric


def test_a_zip_a_folder_and_a_held_out_subject_are_answered(page, demo_server, synthetic_data_root, tmp_path):
    cells = sorted((synthetic_data_root / "training_data").rglob("*.bmp"))
    open_app(page, demo_server, "patient")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in cells[:4]:
            archive.writestr(f"person/{path.name}", path.read_bytes())
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(
        [{"name": "person.zip", "mimeType": "application/zip", "buffer": buffer.getvalue()}])
    cells_used(page, 4)
    expect(page.locator("h3").filter(has_text=": ").first).to_have_text(re.compile(r": (ALL|Healthy|Refer)$"))
    expect(page.get_by_test_id("stPlotlyChart")).to_have_count(2)

    wait_idle(page)
    page.get_by_test_id("stRadio").get_by_text("A folder").click()
    folder = tmp_path / "person"
    folder.mkdir()
    for path in cells[7:12]:
        (folder / path.name).write_bytes(path.read_bytes())
    (folder / "notes.txt").write_text("not an image")
    page.locator('[data-testid="stFileUploaderDropzoneInput"][webkitdirectory]').set_input_files(str(folder))
    cells_used(page, 5)

    wait_idle(page)
    page.get_by_test_id("stRadio").get_by_text("A held-out subject of the dataset").click()
    box = page.get_by_test_id("stSelectbox").filter(has_text="Held-out subject")
    box.get_by_role("button", name="Open").click()  # the selectbox's own opener, not its label
    page.get_by_role("option").filter(has_text=HELD_OUT_SUBJECTS).first.click()
    expect(page.get_by_text("Label in the dataset")).to_be_visible(timeout=RESULT_TIMEOUT_MS)
    expect(page.get_by_test_id("stAlert").filter(has_text=DEMO_SUBJECT_SENTENCE)).to_be_visible()
    report = download(page, "Download the report (HTML)", tmp_path / "patient.html")
    assert config.DISCLAIMER in report and DEMO_SUBJECT_SENTENCE in report and 'src="data:image/png;base64,' in report
