"""Smoke tests of the Model card page (app_pages/model.py) with streamlit's AppTest.

The model and its card are the ones the real trainer wrote in the session's demo run.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from model_files import install_model
from paths import PROJECT_ROOT
from streamlit.testing.v1 import AppTest

from core.data.labels import format_threshold
from core.reporting import model_card, subject_card

PAGE = PROJECT_ROOT / "app_pages" / "model.py"
TIMEOUT_S = 60


def open_page(monkeypatch, model_path: Path) -> AppTest:
    monkeypatch.setenv("LEUKEMIA_MODEL", str(model_path))
    app = AppTest.from_file(str(PAGE), default_timeout=TIMEOUT_S).run()
    assert not app.exception, [exception.value for exception in app.exception]
    return app


def texts(elements) -> str:
    # Without the invisible word joiners ui.messages.plain puts after ":" and "@" in text from files.
    return "\n".join(str(element.value) for element in elements).replace("\u2060", "")


@pytest.fixture(scope="module")
def demo_model(trained_model_path, trained_sidecar_text, tmp_path_factory) -> Path:
    """The demo run's model and sidecar, copied where this module's tests may not harm them."""
    return install_model(trained_model_path, tmp_path_factory.mktemp("demo"), json.loads(trained_sidecar_text))


def test_demo_model_card_renders_every_chart_and_warns(monkeypatch, demo_model):
    app = open_page(monkeypatch, demo_model)
    assert "Demo model" in texts(app.warning) and "says nothing about real blood cells" in texts(app.warning)
    assert "matches" in texts(app.success)
    # Confusion, calibration before/after, ROC, PR, coverage, training history; cells needed per subject set; OOD scores.
    assert len(app.get("plotly_chart")) == 6 + 2 + 1
    metrics = app.table[2].value
    assert list(metrics.columns) == ["Model", "95% CI", 'Always "ALL"'] and len(metrics) == 8


def test_threshold_slider_trades_sensitivity_for_specificity(monkeypatch, demo_model, trained_sidecar):
    app = open_page(monkeypatch, demo_model)
    roc_curve = trained_sidecar["evaluation"]["tuning"]["roc_curve"]

    def read_out() -> tuple[str, str]:
        sensitivity, specificity = (metric.value for metric in app.metric)
        return sensitivity, specificity

    def expected(threshold: float) -> tuple[str, str]:
        sensitivity, specificity = model_card.operating_point(roc_curve, threshold)
        return f"{sensitivity:.1%}", f"{specificity:.1%}"

    assert app.slider(key="threshold_tuning").value == pytest.approx(round(trained_sidecar["threshold"], 3))
    assert read_out() == expected(round(trained_sidecar["threshold"], 3))
    app.slider(key="threshold_tuning").set_value(0.0).run()
    assert read_out() == ("100.0%", "0.0%")  # flag every cell
    app.slider(key="threshold_tuning").set_value(0.5).run()
    assert read_out() == expected(0.5)
    app.slider(key="threshold_tuning").set_value(1.0).run()
    assert read_out() == expected(1.0)


def test_external_set_can_be_shown(monkeypatch, demo_model):
    app = open_page(monkeypatch, demo_model)
    app.radio(key="model_card_set").set_value("external").run()
    assert not app.exception and len(app.get("plotly_chart")) == 6 + 2 + 1
    assert app.slider(key="threshold_external").value == pytest.approx(round(json.loads(demo_model.with_suffix(".json").read_text())["threshold"], 3))


def test_trained_model_has_no_demo_warning(monkeypatch, trained_model_path, trained_sidecar, tmp_path):
    path = install_model(trained_model_path, tmp_path, {**trained_sidecar, "is_demo": False, "demo_note": None})
    app = open_page(monkeypatch, path)
    assert "Demo model" not in texts(app.warning)


def test_tampered_file_shows_a_sha_mismatch(monkeypatch, trained_model_path, trained_sidecar, tmp_path):
    path = install_model(trained_model_path, tmp_path, trained_sidecar)
    path.write_bytes(b"not the model that was trained")
    app = open_page(monkeypatch, path)
    assert "does NOT match" in texts(app.error)
    assert len(app.get("plotly_chart")) == 6 + 2 + 1  # the card itself still shows


def test_model_without_sidecar_says_what_is_missing(monkeypatch, trained_model_path, tmp_path):
    app = open_page(monkeypatch, install_model(trained_model_path, tmp_path, sidecar=None))
    assert "No metadata file" in texts(app.warning) and "no SHA-256" in texts(app.warning)
    assert "holds no evaluation" in texts(app.info)


def test_a_load_error_recorded_by_the_sidebar_is_shown(monkeypatch, demo_model):
    monkeypatch.setenv("LEUKEMIA_MODEL", str(demo_model))
    app = AppTest.from_file(str(PAGE), default_timeout=TIMEOUT_S)
    app.session_state["model_error"] = "Could not read the model file: it is corrupt."
    app.run()
    assert "does not load: Could not read the model file" in texts(app.error).replace("\\", "")


def test_unreadable_sidecar_is_an_error(monkeypatch, trained_model_path, trained_sidecar, tmp_path):
    path = install_model(trained_model_path, tmp_path, trained_sidecar)
    path.with_suffix(".json").write_text("{not json")
    app = open_page(monkeypatch, path)
    assert "not valid JSON" in texts(app.error)


def test_no_model_says_how_to_build_one(monkeypatch, tmp_path):
    app = open_page(monkeypatch, tmp_path / "leukemia_resnet50.keras")
    assert "python train.py --demo" in texts(app.info) and "Classify" in texts(app.info)
    assert not app.get("plotly_chart")


def test_sidecar_survives_json_with_nan_and_nulls(monkeypatch, trained_model_path, trained_sidecar, tmp_path):
    sidecar = trained_sidecar
    sidecar["evaluation"]["tuning"].update(balanced_accuracy=float("nan"), roc_auc=None, roc_auc_ci95=None)
    del sidecar["evaluation"]["tuning"]["pr_curve"], sidecar["history"]
    path = install_model(trained_model_path, tmp_path, json.loads(json.dumps(sidecar)))
    app = open_page(monkeypatch, path)
    assert "not available" in app.table[2].value.to_string()
    assert len(app.get("plotly_chart")) == 4 + 2 + 1  # confusion, calibration before/after, ROC, coverage; cells needed; OOD


def test_the_sidebar_error_rate_sets_per_class_thresholds_and_states_the_guarantee(monkeypatch, demo_model):
    app = open_page(monkeypatch, demo_model)
    assert "error rate α of **5%**" in texts(app.markdown)  # the sidebar's default
    conformal = app.table[4].value
    assert list(conformal.index) == ["ALL", "Healthy"] and "Refer rate" in conformal.columns
    assert "not over patients" in texts(app.caption)
    app.session_state["error_rate_percent"] = 20.0  # what the sidebar's input sets
    app.run()
    assert not app.exception and list(app.table[4].value.index) == ["ALL", "Healthy"]
    assert "error rate α of **20%**" in texts(app.markdown)


def test_model_without_calibration_says_so_and_how_to_add_it(monkeypatch, trained_model_path, trained_sidecar, tmp_path):
    old = {key: value for key, value in trained_sidecar.items() if key not in ("calibration", "conformal")}
    app = open_page(monkeypatch, install_model(trained_model_path, tmp_path, old))
    assert "no calibration and no conformal thresholds" in texts(app.info)
    assert "python -m core.cli.calibrate --model" in texts(app.info)


def test_subject_level_table_per_set_in_words(monkeypatch, demo_model, trained_sidecar):
    app = open_page(monkeypatch, demo_model)
    found = trained_sidecar["subject_evaluation"]
    assert [tab.label for tab in app.tabs] == [subject_card.SET_TITLES[key] for key in ("held_out", "external")]
    tables = [frame.value for frame in app.dataframe if "Subject" in frame.value.columns]
    assert [len(table) for table in tables] == [len(found[key]["rows"]) for key in ("held_out", "external")]
    assert list(tables[0]["Subject"]) == [row["subject"] for row in found["held_out"]["rows"]]
    assert set(tables[0]["Truth"]) <= {"ALL", "Healthy"} and set(tables[0]["Answer"]) <= {"ALL", "Healthy"}
    count = found["held_out"]["summary"]["subjects"]
    assert f"These figures rest on {count} subject" in texts(app.warning)
    rules = [table.value for table in app.table if table.value.index.name == "Rule"][0]
    assert "mean log-odds of the cells (used)" in list(rules.index)


def test_an_older_model_gets_the_command_that_adds_the_subject_evaluation(monkeypatch, trained_model_path, trained_sidecar, tmp_path):
    trained_sidecar.pop("subject_evaluation")
    app = open_page(monkeypatch, install_model(trained_model_path, tmp_path, trained_sidecar))
    assert "python -m core.cli.subjects --model" in texts(app.info)
    assert not [frame for frame in app.dataframe if "Subject" in frame.value.columns]


def test_explanation_audit_from_training_is_on_the_card_and_its_absence_says_what_to_run(
        monkeypatch, demo_model, trained_sidecar_text, tmp_path):
    app = open_page(monkeypatch, demo_model)
    audit = app.dataframe[-1].value  # the last table on the card
    assert list(audit.columns)[:3] == ["Method", "Layer", "Deletion area (lower is better)"]
    assert "Grad-CAM" in set(audit["Method"]) and "None" not in audit.to_string()
    without = {key: value for key, value in json.loads(trained_sidecar_text).items() if key != "explanation_audit"}
    app = open_page(monkeypatch, install_model(demo_model, tmp_path, without))
    assert "python -m core.cli.audit" in texts(app.info)


def test_the_confusion_matrix_follows_the_slider_and_every_metric_has_an_interval(monkeypatch, demo_model, trained_sidecar):
    app = open_page(monkeypatch, demo_model)
    (tn, fp), (fn, tp) = trained_sidecar["evaluation"]["tuning"]["confusion_matrix"]
    assert "not available" not in app.table[2].value["95% CI"].to_string()
    confusion = app.get("plotly_chart")[0].proto.spec
    assert f"threshold {format_threshold(trained_sidecar['threshold'])} (the model's)" in confusion
    app.slider(key="threshold_tuning").set_value(0.0).run()  # Every cell called ALL.
    confusion = json.loads(app.get("plotly_chart")[0].proto.spec)
    assert "threshold 0.000" in confusion["layout"]["title"]["text"]
    assert confusion["data"][0]["z"] == [[0, tn + fp], [0, fn + tp]]


def test_the_threshold_reads_with_three_decimals_and_its_full_precision_once(monkeypatch, demo_model, trained_sidecar):
    app = open_page(monkeypatch, demo_model)
    shown = format_threshold(trained_sidecar["threshold"])
    identity = app.table[0].value.to_string()
    assert shown in identity and (f"stored as {trained_sidecar['threshold']!r}" in identity or float(shown) == trained_sidecar["threshold"])
    rendered = "\n".join(str(element.value) for kind in ("markdown", "caption") for element in getattr(app, kind))
    assert str(round(trained_sidecar["threshold"], 2)) not in rendered.replace(shown, "")


def test_the_ood_section_states_the_score_and_its_threshold_or_how_to_update_an_older_index(
        monkeypatch, trained_model_path, trained_sidecar, tmp_path):
    entry = trained_sidecar["embedding_index"]
    app = open_page(monkeypatch, install_model(trained_model_path, tmp_path / "new", trained_sidecar))
    assert "stain and texture distance" in texts(app.markdown) and f"{entry['ood_threshold']:.1f}" in texts(app.markdown)
    shifted = [table.value for table in app.table if "AUROC" in table.value.columns]
    assert len(shifted) == 1 and len(shifted[0]) == len(entry["ood_distribution"])
    older = {key: value for key, value in entry.items() if key not in ("ood_statistics", "ood_distribution")}
    app = open_page(monkeypatch, install_model(trained_model_path, tmp_path / "old", {**trained_sidecar, "embedding_index": older}))
    assert "python -m core.cli.index" in texts(app.markdown) and not any("AUROC" in table.value.columns for table in app.table)
