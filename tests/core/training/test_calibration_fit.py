"""Tests for core.training.calibration_fit: the fit, the reports, and the keys the real trainer writes."""
from __future__ import annotations

import json

import numpy as np
import pytest

from core.data.labels import ALL, HEM
from core.model.calibration import Calibration
from core.training.calibration_fit import ERROR_RATES, HeldOutSet, calibrate_held_out, fit_temperature, summary_line
from core.reporting.evaluation import evaluate


def synthetic_set(rng, n, temperature, subjects=30):
    """Labels drawn from sigmoid(z), reported as sigmoid(z * temperature): a model overconfident by T."""
    true_logits = rng.normal(0, 2, n)
    labels = (rng.random(n) < 1 / (1 + np.exp(-true_logits))).astype(int)
    probabilities = 1 / (1 + np.exp(-true_logits * temperature))
    return HeldOutSet(labels, probabilities, [f"S{i % subjects}" for i in range(n)])


@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.5])
def test_fit_recovers_a_known_temperature(temperature):
    held = synthetic_set(np.random.default_rng(1), 20000, temperature)
    assert fit_temperature(held.labels, held.probabilities) == pytest.approx(temperature, rel=0.06)


def test_fit_refuses_one_class():
    with pytest.raises(ValueError, match="both classes"):
        fit_temperature(np.ones(10, dtype=int), np.full(10, 0.9))


@pytest.mark.slow
def test_calibrate_held_out_writes_keys_and_improves_external_ece():
    rng = np.random.default_rng(2)
    held_out = {"validation": synthetic_set(rng, 1500, 2.5), "external": synthetic_set(rng, 1500, 2.5)}
    evaluations = {name: evaluate(held.labels, held.probabilities, held.subjects, 0.5) for name, held in held_out.items()}
    keys = calibrate_held_out(evaluations, held_out, seed=0)
    assert keys["calibration"]["method"] == "temperature scaling" and keys["calibration"]["fitted_on"] == "held-out subjects"
    scores = keys["conformal"]["scores"]
    assert len(scores[ALL]) + len(scores[HEM]) == 1500 and scores[ALL] == sorted(scores[ALL])
    assert "not over patients" in keys["conformal"]["guarantee"] and keys["conformal"]["default_error_rate"] == 0.05
    json.dumps(keys)  # JSON-ready
    external = evaluations["external"]
    before, after = external["calibration"]["before"], external["calibration"]["after"]
    assert after["ece"] < before["ece"] and after["brier"] <= before["brier"]
    for quality in (before, after):
        low, high = quality["ece_ci95"]
        assert low <= quality["ece"] <= high
    assert external["calibration"]["bin_count"]  # the uncalibrated reliability bins stay where old readers look
    for label in (ALL, HEM):
        rates = external["conformal"]["by_class"][label]
        assert len(rates["coverage"]) == len(ERROR_RATES)
        assert all(coverage >= 1 - rate - 0.04 for coverage, rate in zip(rates["coverage"], ERROR_RATES))
        assert all(refer >= empty >= 0 for refer, empty in zip(rates["refer_rate"], rates["empty_rate"]))
        assert rates["refer_rate"][0] > rates["refer_rate"][2]  # at 1% far more cells keep both classes than at 5%
    assert "in-sample" in evaluations["validation"]["conformal"]["note"]
    assert "coverage" in summary_line(external) and "ECE" in summary_line(external)
    assert Calibration.from_metadata(keys).temperature == pytest.approx(fit_temperature(held_out["validation"].labels,
                                                                                        held_out["validation"].probabilities), rel=1e-5)


@pytest.mark.slow
def test_calibration_is_fitted_on_the_calibration_subjects_not_on_the_tuning_ones():
    """The tuning subjects chose the epoch: a fit that read them would break the conformal guarantee's exchangeability."""
    rng = np.random.default_rng(3)
    held_out = {"tuning": synthetic_set(rng, 800, 0.5), "calibration": synthetic_set(rng, 600, 2.5), "external": synthetic_set(rng, 700, 2.5)}
    evaluations = {name: evaluate(held.labels, held.probabilities, held.subjects, 0.5) for name, held in held_out.items()}
    keys = calibrate_held_out(evaluations, held_out, seed=0)
    calibration = held_out["calibration"]
    assert keys["calibration"]["temperature"] == pytest.approx(fit_temperature(calibration.labels, calibration.probabilities), rel=1e-5)
    assert keys["calibration"]["fitted_on"] == "held-out subjects of the calibration role" == Calibration(1.0, {}).fitted_on
    scores = keys["conformal"]["scores"]
    assert (len(scores[ALL]), len(scores[HEM])) == (int(calibration.labels.sum()), int((calibration.labels == 0).sum()))
    assert "in-sample" in evaluations["calibration"]["conformal"]["note"]
    assert "note" not in evaluations["tuning"]["conformal"] and "note" not in evaluations["external"]["conformal"]
    with pytest.raises(ValueError, match="calibration subjects"):
        calibrate_held_out({"tuning": evaluations["tuning"]}, {"tuning": held_out["tuning"]}, seed=0)


def test_the_real_trainer_writes_calibration_and_conformal_keys(trained_sidecar, demo_run):
    calibrated = Calibration.from_metadata(trained_sidecar)
    assert calibrated is not None and calibrated.temperature > 0
    assert trained_sidecar["calibration"]["method"] == "temperature scaling"
    assert set(trained_sidecar["conformal"]["scores"]) == {ALL, HEM}
    for name in trained_sidecar["evaluation"]:
        evaluation = trained_sidecar["evaluation"][name]
        assert {"before", "after", "temperature"} <= set(evaluation["calibration"])
        assert evaluation["conformal"]["error_rates"] == list(ERROR_RATES)
    if "external" in trained_sidecar["evaluation"]:
        assert "External set, conformal at 5% error" in demo_run.output
