"""Smoke tests of the Dataset explorer page (app_pages/dataset.py) with streamlit's AppTest."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from model_files import install_model
from paths import PROJECT_ROOT
from streamlit.testing.v1 import AppTest

from core import config
from core.data.index import index_dataset
from core.data.labels import format_threshold
from core.data.summary import summarize
from core.reporting import explorer
from core.training.sidecar import write_predictions_csv

PAGE = PROJECT_ROOT / "app_pages" / "dataset.py"
TIMEOUT_S = 60


def open_page(monkeypatch, data_dir: Path, model_path: Path) -> AppTest:
    monkeypatch.setenv("LEUKEMIA_DATA_DIR", str(data_dir))
    monkeypatch.setenv("LEUKEMIA_MODEL", str(model_path))
    app = AppTest.from_file(str(PAGE), default_timeout=TIMEOUT_S).run()
    assert not app.exception, [exception.value for exception in app.exception]
    return app


def texts(elements) -> str:
    # Undo ui.messages.plain: its Markdown escapes and the invisible word joiners after ":" and "@".
    return "\n".join(str(element.value) for element in elements).replace("\\", "").replace("\u2060", "")


def detail_buttons(app: AppTest) -> list:
    return [button for button in app.button if button.label == "Details"]


@pytest.fixture(scope="module")
def index(synthetic_data_root):
    return index_dataset(synthetic_data_root)


@pytest.fixture(scope="module")
def threshold(trained_sidecar_text) -> float:
    return json.loads(trained_sidecar_text)["threshold"]


@pytest.fixture(scope="module")
def model_with_predictions(trained_model_path, trained_sidecar_text, tmp_path_factory, index, threshold) -> Path:
    """The demo run's model and card, with held-out predictions for this module's dataset.

    The predictions CSV is written by the trainer's own writer, with P(all) = 1 or 0 so that every
    even-numbered validation image is predicted wrongly whatever the card's threshold in (0, 1]; they stand in for
    the tuning subjects' predictions, the set the card offers first.
    """
    assert 0 < threshold <= 1
    path = install_model(trained_model_path, tmp_path_factory.mktemp("model"), json.loads(trained_sidecar_text))
    validation = index.by_split("validation")
    probabilities = np.array([1.0 if (record.label == "all") != (number % 2 == 0) else 0.0
                              for number, record in enumerate(validation)])
    csv_name = json.loads(trained_sidecar_text)["evaluation"]["tuning"]["predictions_csv"]
    write_predictions_csv(path.parent / csv_name, validation, probabilities)
    return path


@pytest.fixture
def app(monkeypatch, synthetic_data_root, model_with_predictions) -> AppTest:
    return open_page(monkeypatch, synthetic_data_root, model_with_predictions)


def test_overview_counts_charts_and_baseline(app, index):
    summary = summarize(index)
    training = explorer.training_counts(summary)
    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics["Training images"] == str(training["all"] + training["hem"])
    assert metrics["Unlabeled test images"] == str(len(index.by_split("test")))
    assert len(app.get("plotly_chart")) == 4  # class balance, subjects, images per subject, held-out sets
    assert f"**{explorer.chance_baseline(summary):.1%}**" in texts(app.markdown)
    assert "synthetic" in texts(app.warning)


def test_grid_shows_one_page_of_thumbnails(app, index):
    assert len(detail_buttons(app)) == 12
    assert len(app.get("image")) >= 12
    last_page = explorer.page_count(len(index.records), 12)
    app.number_input(key="dataset_page").set_value(last_page).run()
    assert len(detail_buttons(app)) == len(index.records) - 12 * (last_page - 1)


def test_filters_narrow_the_grid(app, index):
    app.selectbox(key="dataset_split").set_value("fold_1").run()
    app.selectbox(key="dataset_label").set_value("hem").run()
    expected = explorer.filter_records(index.records, "fold_1", "hem")
    assert app.selectbox(key="dataset_sample").options == [record.path.name for record in expected]
    subjects = app.selectbox(key="dataset_subject").options
    assert subjects == ["any", *explorer.subjects(expected)]


def test_details_show_stages_and_the_prediction(app, index, threshold):
    detail_buttons(app)[0].click().run()
    assert not app.exception
    assert index.records[0].path.name in texts(app.subheader)
    assert len(app.get("image")) >= 12 + 5  # the grid plus five preprocessing stages
    assert "P(ALL) = " in texts(app.markdown) and f"threshold {format_threshold(threshold)}" in texts(app.markdown)


def test_misclassified_section_lists_held_out_mistakes(app, index):
    validation = index.by_split("validation")
    wrong = len(validation[::2])
    assert "Misclassified in the held-out set" in texts(app.header)
    assert f"{wrong} of {len(validation)} images of the held-out tuning subjects are wrong" in texts(app.caption)


def test_without_a_model_details_still_show_stages(monkeypatch, synthetic_data_root, tmp_path):
    app = open_page(monkeypatch, synthetic_data_root, tmp_path / "missing.keras")
    assert "Misclassified in the held-out set" not in texts(app.header)
    detail_buttons(app)[0].click().run()
    assert not app.exception and "No prediction" in texts(app.info)


@pytest.mark.parametrize("make_folder, message", [
    (lambda tmp_path: tmp_path / "nowhere", "does not exist"),
    (lambda tmp_path: tmp_path, "not laid out like"),
])
def test_missing_or_empty_folder_explains_what_to_do(monkeypatch, tmp_path, make_folder, message):
    app = open_page(monkeypatch, make_folder(tmp_path), tmp_path / "missing.keras")
    assert message in texts(app.error)
    assert "build the demo model on the Classify page" in texts(app.info) and "LEUKEMIA_DATA_DIR" in texts(app.info)
    assert not app.get("plotly_chart")


def test_first_contact_before_any_build_is_an_info_box_not_an_error(monkeypatch, tmp_path):
    """No LEUKEMIA_DATA_DIR and no demo data yet: say what the page shows and how to get data, in an info box."""
    monkeypatch.delenv("LEUKEMIA_DATA_DIR", raising=False)
    monkeypatch.setattr(config, "DEMO_DATA_ROOT", tmp_path / "demo")  # Read at import: patched where the app reads it.
    monkeypatch.setenv("LEUKEMIA_MODEL", str(tmp_path / "missing.keras"))
    app = AppTest.from_file(str(PAGE), default_timeout=TIMEOUT_S).run()
    assert not app.exception and not app.error
    info = texts(app.info)
    assert "No cell images to explore yet" in info and "Classify page" in info and "LEUKEMIA_DATA_DIR" in info
    assert "python -m" not in info


def test_visitors_cannot_type_a_server_path(app):
    """Without LEUKEMIA_DATA_ROOTS there is nothing to choose: no text box probes the server's files."""
    assert not app.text_input
    assert "dataset_root" not in [widget.key for widget in app.selectbox]


def test_an_offered_folder_can_be_chosen(monkeypatch, tmp_path, synthetic_data_root, model_with_predictions):
    monkeypatch.setenv("LEUKEMIA_DATA_ROOTS", str(synthetic_data_root.parent))  # the parent of C-NMC_Leukemia is accepted too
    app = open_page(monkeypatch, tmp_path / "nowhere", model_with_predictions)
    app.selectbox(key="dataset_root").select(str(synthetic_data_root.parent)).run()
    assert not app.error and len(app.get("plotly_chart")) == 4
    assert str(synthetic_data_root) in texts(app.caption)


def test_a_bad_offered_folder_keeps_the_current_one(monkeypatch, synthetic_data_root, model_with_predictions, tmp_path):
    monkeypatch.setenv("LEUKEMIA_DATA_ROOTS", str(tmp_path / "nowhere"))
    app = open_page(monkeypatch, synthetic_data_root, model_with_predictions)
    app.selectbox(key="dataset_root").select(str(tmp_path / "nowhere")).run()
    assert "Still using" in texts(app.error) and "does not exist" in texts(app.error)
    assert len(app.get("plotly_chart")) == 4
