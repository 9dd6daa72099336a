"""The Explain page through Streamlit's AppTest, with the session's tiny 64-px model."""
from __future__ import annotations

import uuid
from pathlib import Path

import cv2
import numpy as np
import pytest
from apptest_helpers import texts
from streamlit.testing.v1 import AppTest

from core.data.synthetic_cells import make_subject_style, render_cell
from ui import server_memory
from ui.state import LAST_IMAGE_KEY, SESSION_TOKEN_KEY
from paths import PROJECT_ROOT

ROOT = PROJECT_ROOT
PAGE, APP = str(ROOT / "app_pages" / "explain.py"), str(ROOT / "streamlit_app.py")
TIMEOUT = 120  # The first run imports TensorFlow, loads the model and traces the explainer.


@pytest.fixture(scope="module")
def cell_rgb() -> np.ndarray:
    rng = np.random.default_rng(3)
    return render_cell(rng, "hem", make_subject_style(rng, "hem"), image_size=150)


def open_page(monkeypatch, model_path: Path, data_dir: Path, last_image: dict | None = None) -> AppTest:
    """The Explain page, with `last_image` (name, digest, image_rgb) left as Classify leaves it, when given.

    Its array goes to the server-wide store (`ui.server_memory`), as `ui.state.remember_image` puts it; a
    `last_image` without "image_rgb" is one the server let go.
    """
    monkeypatch.setenv("LEUKEMIA_MODEL", str(model_path))
    monkeypatch.setenv("LEUKEMIA_DATA_DIR", str(data_dir))
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    if last_image is not None:
        at.session_state[SESSION_TOKEN_KEY] = token = uuid.uuid4().hex
        if "image_rgb" in last_image:
            server_memory.keep(token, LAST_IMAGE_KEY, (last_image["digest"], last_image["image_rgb"]))
        at.session_state[LAST_IMAGE_KEY] = {"name": last_image["name"], "digest": last_image["digest"], "side": None}
    return at.run()


def test_without_a_model_it_says_how_to_get_one(monkeypatch, tmp_path):
    at = open_page(monkeypatch, tmp_path / "missing.keras", tmp_path)
    assert not at.exception
    assert any("build the demo model from the Classify page" in info.value for info in at.info)
    assert not at.image


@pytest.mark.slow
def test_without_an_image_it_asks_for_one(monkeypatch, tiny_model_path, tmp_path):
    at = open_page(monkeypatch, tiny_model_path, tmp_path / "no_data")
    assert not at.exception and not at.image
    assert at.radio(key="explain_source").options == ["Upload an image", "A sample cell"]


def test_a_last_image_the_server_let_go_is_named_and_not_offered(monkeypatch, tiny_model_path, tmp_path):
    at = open_page(monkeypatch, tiny_model_path, tmp_path / "no_data", {"name": "gone_cell.bmp", "digest": "d2" * 32})
    assert not at.exception and not at.image
    assert any("gone_cell.bmp" in text and "Classify it again" in text for text in texts(at.info))
    assert at.radio(key="explain_source").options == ["Upload an image", "A sample cell"]


@pytest.mark.slow
def test_last_classified_image_gets_heatmaps_comparison_and_sanity_check(monkeypatch, tiny_model_path, tmp_path, cell_rgb):
    last = {"name": "last_cell.bmp", "image_rgb": cell_rgb, "digest": "d1" * 32}
    at = open_page(monkeypatch, tiny_model_path, tmp_path / "no_data", last)
    assert not at.exception
    assert "last_cell.bmp" in at.subheader[0].value.replace("\\", "")
    assert len(at.image) == 4  # on the model input, on the original, and two methods compared
    assert any("Grad-CAM shows where the model looked" in caption.value for caption in at.caption)
    assert any("Faithfulness" in caption.value and "Removing the hottest 25%" in caption.value for caption in at.caption)
    compared = [image.captions[0] for image in at.image[2:]]  # each compared method carries its score
    assert compared[0].startswith("Grad-CAM: faithfulness ") and compared[1].startswith("LayerCAM: faithfulness ")
    at.selectbox(key="explain_method").set_value("gradcam++")
    at.radio(key="explain_target").set_value("all")
    at.selectbox(key="explain_layer").set_value("conv4_block6_out")
    at.toggle(key="explain_sanity").set_value(True)
    at.run()
    assert not at.exception
    captions = [caption.value for caption in at.caption]
    assert any("Grad-CAM++ shows where the model looked" in caption for caption in captions)  # the method shown
    assert not any("Grad-CAM shows" in caption for caption in captions)
    assert len(at.image) == 4
    correlation = at.metric[0].value
    assert correlation.startswith("n/a") or -1.0 <= float(correlation) <= 1.0


def test_corrupt_upload_shows_the_reason(monkeypatch, tiny_model_path, tmp_path):
    at = open_page(monkeypatch, tiny_model_path, tmp_path / "no_data")
    at.radio(key="explain_source").set_value("Upload an image")
    at.run()
    at.file_uploader(key="explain_upload").set_value([("broken.bmp", b"BM not really a bitmap", "image/bmp")])
    at.run()
    assert not at.exception and not at.image
    assert any("broken.bmp" in error.value.replace("\\", "") for error in at.error)


@pytest.mark.slow
def test_image_classified_in_the_app_is_explained_after_switching_page(monkeypatch, tiny_model_path, tmp_path, cell_rgb):
    monkeypatch.setenv("LEUKEMIA_MODEL", str(tiny_model_path))
    monkeypatch.setenv("LEUKEMIA_DATA_DIR", str(tmp_path / "no_data"))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    png = cv2.imencode(".png", cv2.cvtColor(cell_rgb, cv2.COLOR_RGB2BGR))[1].tobytes()
    at.file_uploader(key="classify_uploads").set_value([("flow.png", png, "image/png")]).run()
    at.switch_page("app_pages/explain.py").run()
    assert not at.exception
    assert "flow.png" in at.subheader[0].value.replace("\\", "")
    assert len(at.image) == 4
