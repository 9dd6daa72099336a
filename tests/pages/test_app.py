"""The app through Streamlit's AppTest: every page opens, uploads behave, results and reports.

The model is the session's tiny 64-px ResNet50 and the data a small synthetic C-NMC tree, so
nothing trains and nothing is downloaded. First launch is in `test_app_first_launch.py`.
"""
from __future__ import annotations

import numpy as np
import pytest
from apptest_helpers import open_app, png_bytes, texts, upload
from streamlit.testing.v1 import AppTest

from core import config
from core.model.assessment import REFER_OUT_OF_SCOPE
from ui.navigation import SCREENS

PAGES = [screen.script for screen in SCREENS]


@pytest.fixture(scope="module")
def cell_bytes(synthetic_data_root) -> bytes:
    return next((synthetic_data_root / "training_data").rglob("*.bmp")).read_bytes()


@pytest.fixture
def app(monkeypatch, tiny_model_path, synthetic_data_root) -> AppTest:
    monkeypatch.setenv("LEUKEMIA_MODEL", str(tiny_model_path))
    monkeypatch.setenv("LEUKEMIA_DATA_DIR", str(synthetic_data_root))
    at = open_app()
    assert not at.exception
    return at


def test_frame_shows_notice_model_and_dataset(app):
    assert any(config.DISCLAIMER in text for text in texts(app.caption))
    sidebar = " ".join(texts(app.sidebar.caption))
    assert "tiny.keras" in sidebar and "SHA-256 matches" in sidebar and "images" in sidebar


@pytest.mark.parametrize("page", PAGES)
def test_every_page_opens_without_exception(app, page):
    app.switch_page(page).run()
    assert not app.exception, f"{page}: {app.exception}"
    assert app.title, f"{page} has no title"


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_inside_the_entrypoints_frame(app, page):
    """Each AppTest run starts as a fresh server's first run does (Streamlit's page-folder switch reset).

    Were the screens in a folder Streamlit scans by itself (`pages/` beside the entrypoint), such a run
    would execute the page script alone: no notice, no sidebar status, no session keys. Through the
    entrypoint every page has all three.
    """
    app.switch_page(page).run()
    assert not app.exception
    assert any(config.DISCLAIMER in text for text in texts(app.caption)), f"{page} lacks the notice"
    assert any("tiny.keras" in text for text in texts(app.sidebar.caption)), f"{page} lacks the model status"
    assert app.sidebar.number_input, f"{page} lacks the sidebar's error rate"


@pytest.mark.slow
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
    blank = png_bytes(np.full((64, 64, 3), 40, np.uint8))  # dark: a light border would make it a smear field
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
    assert table["answer"].ne("").tolist() == [False, False, False, False, True]  # Empty text, never "None".
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
    assert table["P(ALL)"].astype(float).between(0, 1).all()  # Shown as three-decimal text.
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
    assert any(text.startswith("Sample: ") for text in texts(app.caption))


def test_out_of_scope_image_is_answered_but_marked(app):
    rng = np.random.default_rng(0)
    # Not dark, yet with a border too dark for a smear field (a light border is one: tests/pages/test_fields.py).
    photo = np.clip(80 + rng.integers(-40, 40, (120, 160, 3)), 0, 255).astype(np.uint8)
    upload(app, [("photo.png", png_bytes(photo))])
    assert not app.exception
    assert any("Out of scope" in text for text in texts(app.warning))
    assert texts(app.subheader)[-1] == f"photo.png: {REFER_OUT_OF_SCOPE}"
    assert "P(ALL)" not in [metric.label for metric in app.metric], "a referred image's P(ALL) is never in large type"
    assert any("P(ALL) = " in text for text in texts(app.markdown))


def test_cached_rerun_of_the_same_image_does_not_run_the_model_again(app, cell_bytes, tiny_model_path, monkeypatch):
    """The page's per-file function on an image seen before answers from the cache."""
    from core.model import analysis
    from ui import cache, classify_widgets

    classifier = cache._classifier(str(tiny_model_path), cache.model_stamp(tiny_model_path))
    first = classify_widgets.process_upload("cell.bmp", cell_bytes, classifier)
    calls = []
    monkeypatch.setattr(analysis, "analyze_cell", lambda *args, **kwargs: calls.append(args))
    monkeypatch.setattr(classifier, "probabilities", lambda *args, **kwargs: calls.append(args))
    outcome = classify_widgets.process_upload("renamed.bmp", cell_bytes, classifier)  # same bytes, another name
    assert calls == []  # neither the analysis nor the model ran again
    assert outcome.error is None and outcome.analysis is not None
    assert outcome.analysis.prediction == first.analysis.prediction
    np.testing.assert_array_equal(outcome.image_rgb, first.image_rgb)


def test_report_of_a_result_is_complete(app, cell_bytes, tiny_model_path):
    from ui import cache, classify_widgets, result_widgets

    classifier = cache._classifier(str(tiny_model_path), cache.model_stamp(tiny_model_path))
    outcome = classify_widgets.process_upload("report<cell>.bmp", cell_bytes, classifier)
    report = result_widgets.report_maker(outcome, classifier, None)()
    assert "report&lt;cell&gt;.bmp" in report and classifier.loaded.sha256 in report
    assert config.DISCLAIMER in report
    assert report.count("data:image/png;base64,") == 2  # No explainer: no heatmap, still a report.


def test_report_includes_the_heatmap_when_an_explainer_is_available(app, cell_bytes, tiny_model_path):
    from core.explain import explainer as explain
    from ui import cache, classify_widgets, result_widgets

    classifier = cache._classifier(str(tiny_model_path), cache.model_stamp(tiny_model_path))
    outcome = classify_widgets.process_upload("cell.bmp", cell_bytes, classifier)
    explainer = explain.Explainer(classifier.loaded.model, classifier.lock)
    report = result_widgets.report_maker(outcome, classifier, explainer)()
    assert report.count("data:image/png;base64,") == 3 and "Grad-CAM heatmap (where the model looked)" in report
    assert "Removing the hottest 25% of the cell" in report  # the map's faithfulness, in words
