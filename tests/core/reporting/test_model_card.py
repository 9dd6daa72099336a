"""Tests for core.reporting.model_card and core.reporting.figures on the sidecar the real trainer wrote.

The sidecar comes from the session's `train.py --demo --dry-run` (see tests/conftest.py), so
these tests hold the card to what the producer actually writes, not to a copy of its contract.
"""
from __future__ import annotations

import json
import math

import numpy as np
import plotly.graph_objects as go
import pytest

from core.reporting import calibration_card, figures, model_card


@pytest.fixture(scope="module")
def sidecar(trained_sidecar_text) -> dict:
    """The real sidecar, read from disk as the app reads it."""
    return json.loads(trained_sidecar_text)


@pytest.fixture(scope="module")
def evaluation(sidecar) -> dict:
    return sidecar["evaluation"]["calibration"]


def test_trade_off_is_monotonic_sensitivity_falls_specificity_rises(evaluation):
    points = [model_card.operating_point(evaluation["roc_curve"], t) for t in np.linspace(0, 1, 101)]
    sensitivity, specificity = np.array(points).T
    assert np.all(np.diff(sensitivity) <= 1e-12) and np.all(np.diff(specificity) >= -1e-12)
    assert sensitivity[0] == 1.0 and specificity[0] == 0.0  # flag everything
    assert sensitivity[-1] == 0.0 and specificity[-1] == 1.0  # flag nothing
    assert sensitivity[0] > sensitivity[-1] and specificity[-1] > specificity[0]


def test_operating_point_at_the_models_threshold_matches_the_stored_metrics(sidecar, evaluation):
    assert evaluation["threshold"] == sidecar["threshold"]  # the metrics were computed at the model's threshold
    sensitivity, specificity = model_card.operating_point(evaluation["roc_curve"], sidecar["threshold"])
    # Interpolating between neighbouring ROC points is off by at most one image per class.
    (tn, fp), (fn, tp) = evaluation["confusion_matrix"]
    assert sensitivity == pytest.approx(evaluation["sensitivity"], abs=1.01 / (fn + tp))
    assert specificity == pytest.approx(evaluation["specificity"], abs=1.01 / (tn + fp))


@pytest.mark.parametrize("first_threshold", [float("inf"), None, 1.0, 1.7])
def test_operating_point_accepts_every_way_of_storing_the_flag_nothing_point(first_threshold):
    roc_curve = {"fpr": [0.0, 0.0, 0.5, 1.0], "tpr": [0.0, 0.5, 1.0, 1.0], "thresholds": [first_threshold, 0.8, 0.4, 0.1]}
    assert model_card.operating_point(roc_curve, 0.8) == (0.5, 1.0)
    assert model_card.operating_point(roc_curve, 0.6) == pytest.approx((0.75, 0.75))
    assert model_card.operating_point(roc_curve, 0.05) == (1.0, 0.0)
    sensitivity, specificity = model_card.operating_point(roc_curve, 1.0)
    assert sensitivity <= 0.5 and specificity == 1.0


@pytest.mark.parametrize("roc_curve", [{}, {"fpr": [], "tpr": [], "thresholds": []}, {"fpr": [0, 1], "tpr": [0, 1], "thresholds": [1.0]}])
def test_operating_point_rejects_broken_curves(roc_curve):
    with pytest.raises(ValueError, match="ROC curve"):
        model_card.operating_point(roc_curve, 0.5)


def test_metrics_rows_compare_with_the_always_all_baseline(evaluation):
    rows = {row["Metric"]: row for row in model_card.metrics_rows(evaluation)}
    assert len(rows) == len(model_card.METRICS)
    accuracy = rows["Accuracy"]
    assert accuracy["Model"] == f"{evaluation['accuracy']:.3f}"
    assert accuracy['Always "ALL"'] == f"{evaluation['baseline_all']['accuracy']:.3f}"
    low, high = evaluation["roc_auc_ci95"]
    assert rows["ROC AUC"]["95% CI"] == f"{low:.3f} – {high:.3f}"
    assert rows["ROC AUC"]['Always "ALL"'] == "0.500"  # by definition
    assert rows["Sensitivity (ALL cells found)"]['Always "ALL"'] == "1.000"
    low, high = evaluation["accuracy_ci95"]
    assert accuracy["95% CI"] == f"{low:.3f} – {high:.3f}"


def test_metrics_rows_say_not_available_for_missing_null_and_nan_values():
    rows = model_card.metrics_rows({"accuracy": None, "balanced_accuracy": math.nan, "roc_auc_ci95": None})
    assert all(row["Model"] == model_card.NOT_AVAILABLE for row in rows)
    assert rows[0]['Always "ALL"'] == model_card.NOT_AVAILABLE


def test_class_totals_and_prevalence(evaluation):
    healthy, leukemic = model_card.class_totals(evaluation)
    assert healthy + leukemic == evaluation["n_images"]
    assert model_card.prevalence(evaluation) == pytest.approx(evaluation["baseline_all"]["accuracy"])
    assert model_card.class_totals({}) is None and model_card.prevalence({"confusion_matrix": [[1]]}) is None


@pytest.mark.parametrize(
    "recorded, actual, status",
    [("ab12", "AB12", "match"), ("ab12", "cd34", "mismatch"), (None, "ab12", "not recorded"),
     ("", "ab12", "not recorded"), ("ab12", None, "file missing")],
)
def test_sha_status(recorded, actual, status):
    assert model_card.sha_status(recorded, actual) == status


def test_split_facts(sidecar):
    facts = dict(model_card.split_facts(sidecar))
    split = sidecar["split"]
    assert facts["Split"].startswith("subject-level")
    roles = sidecar["split_roles"]
    assert facts["Training subjects"] == f"{len(roles['train']):,}"
    tuning, calibration = (next(value for key, value in facts.items() if key.startswith(f"{role} subjects (")) for role in ("Tuning", "Calibration"))
    assert (tuning, calibration) == (f"{len(roles['tuning']):,}", f"{len(roles['calibration']):,}")
    assert facts["Training images"] == f"{split['train_images']:,}"
    assert facts["Calibration subjects' images"] == f"{split['calibration_images']:,}"
    assert facts["External set images (C-NMC's validation_data folder)"] == f"{split['external_images']:,}"
    assert facts["Data"] == "synthetic demo cells" and facts["Data folder"] == sidecar["data"]["root"]
    real_data = dict(model_card.split_facts({**sidecar, "data": {**sidecar["data"], "synthetic": False}}))
    assert real_data["Data"] == "C-NMC 2019 training folds"
    image_level = dict(model_card.split_facts({"split": {"kind": "image"}, "data": {"synthetic": True}}))
    assert "optimistic" in image_level["Split"] and image_level["Data"] == "synthetic demo cells"
    assert set(dict(model_card.split_facts({})).values()) == {model_card.NOT_AVAILABLE}
    older = dict(model_card.split_facts({"split": {"train_subjects": ["1", "2"], "validation_subjects": ["3"]}}))
    assert older["Held-out subjects"] == "1" and older["Training subjects"] == "2"  # a sidecar from before the roles


def test_the_card_says_which_figures_are_in_sample_for_which_role(sidecar):
    rows = {row["Set"]: row for row in model_card.in_sample_rows(sidecar)}
    assert list(rows) == ["Held-out subjects: tuning", "Held-out subjects: calibration", "External set"]
    assert "model selection" in rows["Held-out subjects: tuning"]["Its figures"]
    assert all(word in rows["Held-out subjects: calibration"]["Its figures"] for word in ("threshold", "temperature", "conformal", "OOD"))
    assert rows["External set"]["Its figures"].startswith("Clean")
    older = [row["Set"] for row in model_card.in_sample_rows({key: value for key, value in sidecar.items() if key != "split_roles"})]
    assert older == ["Held-out subjects", "External set"]
    assert set(sidecar["evaluation"]) <= set(model_card.SET_NOTES)


def test_identity_facts_show_not_available_for_missing_fields(sidecar):
    facts = dict(model_card.identity_facts(sidecar))
    assert facts["Decision threshold on P(ALL)"].startswith(f"{sidecar['threshold']:.3f}") and facts["Version"] == sidecar["version"]
    assert dict(model_card.identity_facts({}))["Created"] == model_card.NOT_AVAILABLE


def test_confusion_figure_is_a_heatmap_with_true_rows(evaluation):
    figure = figures.confusion_figure(evaluation["confusion_matrix"])
    assert isinstance(figure, go.Figure) and [trace.type for trace in figure.data] == ["heatmap"]
    assert [list(row) for row in figure.data[0].z] == evaluation["confusion_matrix"]


def test_roc_figure_marks_the_operating_point(evaluation):
    point = model_card.operating_point(evaluation["roc_curve"], 0.7)
    figure = figures.roc_figure(evaluation["roc_curve"], point)
    assert [trace.name for trace in figure.data][::2] == ["model", "threshold on the slider"]
    assert figure.data[2].x[0] == pytest.approx(1 - point[1]) and figure.data[2].y[0] == pytest.approx(point[0])
    assert len(figures.roc_figure(evaluation["roc_curve"]).data) == 2


def test_pr_figure_draws_the_prevalence_line(evaluation):
    prevalence = model_card.prevalence(evaluation)
    figure = figures.pr_figure(evaluation["pr_curve"], prevalence)
    assert len(figure.data) == 2 and list(figure.data[1].y) == [prevalence, prevalence]


def test_calibration_figure_has_reliability_diagonal_and_counts(evaluation):
    figure = figures.calibration_figure(evaluation["calibration"])
    assert [trace.type for trace in figure.data] == ["scatter", "scatter", "bar"]
    assert sum(figure.data[2].y) == evaluation["n_images"]


def test_training_figure_shows_every_epoch_of_the_history(sidecar):
    history = sidecar["history"]
    figure = figures.training_figure(history)
    assert len(figure.data) == 4  # loss and AUC, each for training and validation
    assert all(len(trace.x) == len(history["loss"]) for trace in figure.data)


def test_training_figure_marks_where_fine_tuning_starts(sidecar):
    # The demo recipe trains in one phase; a two-phase history from the same keys adds the phase line.
    history = {key: values * 2 for key, values in sidecar["history"].items() if key != "phase"}
    history["phase"] = ["head"] * len(sidecar["history"]["phase"]) + ["fine-tune"] * len(sidecar["history"]["phase"])
    start = len(sidecar["history"]["phase"])
    assert figures.phase_starts(history["phase"]) == [(start, "fine-tune")]
    assert len(figures.training_figure(history).layout.shapes) == 2  # the phase line in both panels
    assert figures.phase_starts(sidecar["history"]["phase"]) == [] and not figures.training_figure(sidecar["history"]).layout.shapes



def test_calibration_rows_show_before_and_after_with_intervals(evaluation):
    rows = calibration_card.calibration_rows(evaluation)
    assert [row["Metric"].split(",")[0].split(" (")[0] for row in rows] == ["Expected calibration error", "Brier score"]
    assert all(model_card.NOT_AVAILABLE not in row["After temperature scaling"].split(" (")[0] for row in rows)


def test_conformal_rows_per_class_and_the_note_for_old_models(sidecar):
    from core.model.calibration import Calibration

    calibrated = Calibration.from_metadata(sidecar)
    rows = calibration_card.conformal_rows(calibrated, 0.05)
    assert [row["Class"] for row in rows] == ["ALL", "Healthy"]
    assert Calibration.from_metadata({key: value for key, value in sidecar.items() if key != "calibration"}) is None
    assert "python -m core.cli.calibrate --model" in calibration_card.CALIBRATION_MISSING
    assert "not over patients" in calibration_card.GUARANTEE_LINE


def test_before_after_and_coverage_figures(evaluation):
    reliability = figures.reliability_before_after_figure(evaluation["calibration"])
    assert [trace.name.split(":")[0] for trace in reliability.data][0] == "perfectly calibrated" and len(reliability.data) == 3
    assert "ECE" in reliability.data[2].name and "Brier" in reliability.data[2].name
    coverage = figures.coverage_figure(evaluation["conformal"])
    assert len(coverage.data) == 1 + 2 * 2  # the promise, then coverage and refer rate for each class
    assert list(coverage.data[0].x) == evaluation["conformal"]["error_rates"]
