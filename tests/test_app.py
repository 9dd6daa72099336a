"""The app through Streamlit's AppTest: every page opens, first launch builds a model, uploads behave.

The model is the session's tiny 64-px ResNet50 and the data a small synthetic C-NMC tree, so
nothing trains and nothing is downloaded. AppTest runs the scripts in this process, which is
why `core.training.build_demo_model` can be replaced with a fast fake.
"""
from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from core import config

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")
PAGES = ["pages/classify.py", "pages/explain.py", "pages/dataset.py", "pages/model.py", "pages/about.py"]
# Pages that call `ui.ensure_frame()` first; the others should, too (see its docstring).
GUARDED_PAGES = ["pages/classify.py", "pages/about.py"]
TIMEOUT = 120  # The first run imports TensorFlow and loads the model.


def png_bytes(image_rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image_rgb).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def cell_bytes(synthetic_data_root) -> bytes:
    return next((synthetic_data_root / "training_data").rglob("*.bmp")).read_bytes()


@pytest.fixture
def app(monkeypatch, tiny_model_path, synthetic_data_root) -> AppTest:
    monkeypatch.setenv("LEUKEMIA_MODEL", str(tiny_model_path))
    monkeypatch.setenv("LEUKEMIA_DATA_DIR", str(synthetic_data_root))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception
    return at


def upload(at: AppTest, files: list[tuple[str, bytes]]) -> AppTest:
    at.file_uploader(key="classify_uploads").set_value([(name, data, "application/octet-stream") for name, data in files])
    return at.run()


def texts(elements) -> list[str]:
    return [element.value.replace("\\", "") for element in elements]  # Undo Markdown escaping.


def test_frame_shows_notice_model_and_dataset(app):
    assert any(config.DISCLAIMER in text for text in texts(app.caption))
    sidebar = " ".join(texts(app.sidebar.caption))
    assert "tiny.keras" in sidebar and "SHA-256 matches" in sidebar and "images" in sidebar


@pytest.mark.parametrize("page", PAGES)
def test_every_page_opens_without_exception(app, page):
    app.switch_page(page).run()
    assert not app.exception, f"{page}: {app.exception}"
    assert app.title, f"{page} has no title"


@pytest.mark.parametrize("page", GUARDED_PAGES)
def test_a_page_opened_directly_still_gets_the_frame(app, page):
    """AppTest, like a fresh server on a deep link, runs the page without the entrypoint (`ui.ensure_frame`)."""
    app.switch_page(page).run()
    assert not app.exception
    assert any(config.DISCLAIMER in text for text in texts(app.caption)), f"{page} lacks the notice"
    assert any("tiny.keras" in text for text in texts(app.sidebar.caption)), f"{page} lacks the model status"


def test_upload_shows_answer_threshold_and_uncertainty(app, cell_bytes):
    upload(app, [("cell_one.bmp", cell_bytes)])
    assert not app.exception and not app.error
    assert texts(app.subheader)[0] in ("cell_one.bmp: ALL", "cell_one.bmp: Healthy")
    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics["Answer"] in ("ALL", "Healthy")
    assert 0.0 <= float(metrics["P(ALL)"]) <= 1.0
    assert metrics["Threshold (model card)"] == "0.500"
    mean, spread = metrics["Uncertainty (8 views)"].split(" ± ")
    assert 0.0 <= float(mean) <= 1.0 and float(spread) >= 0.0
    assert len(app.image) >= 4  # The four preprocessing stages.
    assert app.session_state["last_image"]["name"] == "cell_one.bmp"


def test_bad_uploads_each_get_a_message_and_the_good_one_carries_on(app, cell_bytes):
    blank = png_bytes(np.full((64, 64, 3), 128, np.uint8))
    files = [
        ("truncated.bmp", cell_bytes[:200]),
        ("notes.png", b"these are my notes, not an image"),
        ("empty.png", b""),
        ("blank.png", blank),
        ("good.bmp", cell_bytes),
    ]
    upload(app, files)
    assert not app.exception
    errors = texts(app.error)
    assert len(errors) == 4
    for name, error in zip(["truncated.bmp", "notes.png", "empty.png", "blank.png"], errors):
        assert name in error
    assert "accepted format" in errors[1]
    assert "empty" in errors[2]
    assert "blank or uniform" in errors[3]
    table = app.dataframe[0].value
    assert list(table["file"]) == [name for name, _ in files]
    assert table["answer"].notna().tolist() == [False, False, False, False, True]
    assert texts(app.subheader)[-1].startswith("good.bmp: ")


def test_too_large_file_is_refused_by_name(app):
    upload(app, [("huge.bmp", b"BM" + bytes(config.MAX_FILE_BYTES))])
    assert not app.exception
    assert "huge.bmp" in texts(app.error)[0]


def test_several_images_give_a_sortable_table_and_a_csv(app, cell_bytes, synthetic_data_root):
    other = next((synthetic_data_root / "training_data").rglob("*hem.bmp")).read_bytes()
    upload(app, [("a.bmp", cell_bytes), ("b.bmp", other)])
    table = app.dataframe[0].value
    assert len(table) == 2 and set(table["answer"]) <= {"ALL", "Healthy"}
    assert table["P(ALL)"].between(0, 1).all()
    assert any(button.label == "Download the table (CSV)" for button in app.get("download_button"))
    assert texts(app.subheader)[-1].startswith("b.bmp: "), "the newest image is shown in detail"
    app.selectbox(key="classify_detail").set_value("1. a.bmp").run()
    assert texts(app.subheader)[-1].startswith("a.bmp: ")
    assert app.session_state["last_image"]["name"] == "a.bmp"


def test_samples_from_the_dataset_can_be_classified(app):
    picker = app.multiselect(key="classify_samples")
    assert picker.options, "the synthetic dataset should offer samples"
    picker.set_value(picker.options[:1]).run()
    assert not app.exception and not app.error
    assert any(text.startswith("Label in the dataset: ") for text in texts(app.caption))


def test_out_of_scope_image_is_answered_but_marked(app):
    rng = np.random.default_rng(0)
    photo = np.clip(200 + rng.integers(-40, 40, (120, 160, 3)), 0, 255).astype(np.uint8)
    upload(app, [("photo.png", png_bytes(photo))])
    assert not app.exception
    assert any("Out of scope" in text for text in texts(app.warning))
    assert "Answer (out of scope)" in [metric.label for metric in app.metric]


def test_cached_rerun_of_the_same_image_is_fast(app, cell_bytes, tiny_model_path):
    """The page's per-file function on an image seen before takes well under 0.2 s."""
    from pages import classify_ui, resources

    classifier = resources._classifier(str(tiny_model_path), resources.model_stamp(tiny_model_path))
    classify_ui.process_upload("cell.bmp", cell_bytes, classifier)
    started = time.perf_counter()
    outcome = classify_ui.process_upload("cell.bmp", cell_bytes, classifier)
    assert time.perf_counter() - started < 0.2
    assert outcome.error is None and outcome.analysis is not None


def test_report_of_a_result_is_complete(app, cell_bytes, tiny_model_path):
    from pages import classify_ui, resources, result_ui

    classifier = resources._classifier(str(tiny_model_path), resources.model_stamp(tiny_model_path))
    outcome = classify_ui.process_upload("report<cell>.bmp", cell_bytes, classifier)
    report = result_ui.report_maker(outcome, classifier, None)()
    assert "report&lt;cell&gt;.bmp" in report and classifier.loaded.sha256 in report
    assert config.DISCLAIMER in report
    assert report.count("data:image/png;base64,") == 2  # No explainer: no heatmap, still a report.


def test_report_includes_the_heatmap_when_an_explainer_is_available(app, cell_bytes, tiny_model_path):
    explain = pytest.importorskip("core.explain")
    from pages import classify_ui, resources, result_ui

    classifier = resources._classifier(str(tiny_model_path), resources.model_stamp(tiny_model_path))
    outcome = classify_ui.process_upload("cell.bmp", cell_bytes, classifier)
    explainer = explain.Explainer(classifier.loaded.model, classifier.lock)
    report = result_ui.report_maker(outcome, classifier, explainer)()
    assert report.count("data:image/png;base64,") == 3 and "Grad-CAM" in report


def wait_for_model_page(at: AppTest, seconds: float = 30) -> AppTest:
    """Rerun until the build is over and the uploader shows (AppTest does not run timers)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        at.run()
        if at.file_uploader:
            return at
        time.sleep(0.2)
    raise AssertionError("the app did not carry on after the demo build")


@pytest.fixture
def first_launch(monkeypatch, fake_build_env, synthetic_data_root):
    """An app with no model at LEUKEMIA_MODEL whose demo build copies the tiny model instead of training."""
    from pages import demo_build

    model_path = fake_build_env / "models" / "demo.keras"
    monkeypatch.setenv("LEUKEMIA_MODEL", str(model_path))
    monkeypatch.setenv("LEUKEMIA_DATA_DIR", str(synthetic_data_root))
    monkeypatch.setattr(demo_build, "BUILDER", "fake_builds:copy_tiny_model")
    return model_path, fake_build_env / "release", fake_build_env / "calls.txt"


def wait_for_text(at: AppTest, elements: str, text: str, seconds: float = 30) -> AppTest:
    """Rerun until some element of a kind (e.g. "info") contains `text` (AppTest runs no timers)."""
    deadline = time.monotonic() + seconds
    while not any(text in value for value in texts(getattr(at, elements))):
        assert time.monotonic() < deadline, f"no {elements} saying {text!r}"
        time.sleep(0.1)
        at.run()
    return at


def test_first_launch_offers_the_demo_build_and_carries_on(first_launch, cell_bytes):
    model_path, release, calls = first_launch
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert any("There is no model yet" in text for text in texts(at.info))
    assert any("No model yet" in text for text in texts(at.sidebar.caption))
    at.button[0].click().run()
    assert not at.exception
    wait_for_text(at, "info", "being built")
    assert at.get("progress"), "a progress bar shows while building"
    # A second session sees the same build, started by someone else, and no second button.
    other = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert any("Another session started" in text for text in texts(other.info))
    assert not other.button
    release.touch()
    wait_for_model_page(at)
    assert calls.read_text().split() == [str(model_path), str(config.DEMO_DATA_ROOT)]
    upload(at, [("after_build.bmp", cell_bytes)])
    assert not at.exception and texts(at.subheader)[0].startswith("after_build.bmp: ")
    wait_for_model_page(other)


def test_a_corrupt_model_file_is_reported_without_offering_to_overwrite_it(monkeypatch, tmp_path, synthetic_data_root):
    broken = tmp_path / "broken.keras"
    broken.write_bytes(b"not a keras archive")
    monkeypatch.setenv("LEUKEMIA_MODEL", str(broken))
    monkeypatch.setenv("LEUKEMIA_DATA_DIR", str(synthetic_data_root))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert any("could not be loaded" in text and "broken.keras" in text for text in texts(at.error))
    assert not at.button, "a build would overwrite the user's file"


def test_a_failed_build_says_why_and_offers_a_retry(monkeypatch, fake_build_env, synthetic_data_root):
    from pages import demo_build

    monkeypatch.setenv("LEUKEMIA_MODEL", str(fake_build_env / "never.keras"))
    monkeypatch.setenv("LEUKEMIA_DATA_DIR", str(synthetic_data_root))
    monkeypatch.setattr(demo_build, "BUILDER", "fake_builds:fail_readably")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.button[0].click().run()
    wait_for_text(at, "error", "The disk is full")
    assert not at.exception
    assert at.button[0].label == "Build the demo model"


@pytest.mark.parametrize(("label", "probability", "tta_mean", "disagree"), [
    ("hem", 0.72, 0.95, True), ("all", 0.90, 0.60, True), ("all", 0.90, 0.88, False), ("hem", 0.10, None, False),
])
def test_views_disagree_when_the_tta_mean_crosses_the_threshold(label, probability, tta_mean, disagree):
    from core.inference import Prediction
    from pages.result_ui import views_disagree

    prediction = Prediction(label, probability, 0.84, tta_mean, None if tta_mean is None else 0.05)
    assert views_disagree(prediction) is disagree
