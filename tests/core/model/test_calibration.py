"""Tests for core.model.calibration: temperature scaling and class-conditional conformal sets."""
from __future__ import annotations

import math

import numpy as np
import pytest

from core.data.labels import ALL, HEM
from core.errors import ModelError
from core.model.calibration import (
    REFER, Calibration, calibrated_probability, conformal_decision, conformal_thresholds, minimum_scores,
)


def test_temperature_one_is_the_identity():
    probabilities = np.array([0.001, 0.2, 0.5, 0.73, 0.999])
    np.testing.assert_allclose(calibrated_probability(probabilities, 1.0), probabilities, atol=1e-12)
    assert calibrated_probability(0.3, 1.0) == pytest.approx(0.3)
    assert isinstance(calibrated_probability(0.3, 2.0), float)


def test_temperature_above_one_softens_and_keeps_the_order_and_the_half():
    probabilities = np.array([0.0, 0.1, 0.5, 0.9, 1.0])  # 0 and 1 are clipped, not infinite
    softened = calibrated_probability(probabilities, 3.0)
    assert np.all(np.isfinite(softened)) and np.all(np.diff(softened) > 0)
    assert softened[2] == pytest.approx(0.5)
    assert softened[1] > 0.1 and softened[3] < 0.9


@pytest.mark.parametrize("temperature", [0.0, -1.0, math.inf, math.nan])
def test_bad_temperature_is_refused(temperature):
    with pytest.raises(ValueError, match="temperature"):
        calibrated_probability(0.5, temperature)


def test_quantile_by_hand():
    # n = 9, alpha = 0.2: rank ceil(10 * 0.8) = 8, so the 8th smallest score.
    scores = {ALL: np.array([0.9, 0.1, 0.3, 0.2, 0.5, 0.4, 0.8, 0.7, 0.6]), HEM: np.arange(1, 20) / 100}
    thresholds = conformal_thresholds(scores, 0.2)
    assert thresholds[ALL] == pytest.approx(0.8)
    # n = 19, alpha = 0.05: rank ceil(20 * 0.95) = 19 exactly (no floating-point round-up to 20).
    assert conformal_thresholds(scores, 0.05)[HEM] == pytest.approx(0.19)


def test_too_few_scores_give_an_infinite_threshold_and_refer():
    assert minimum_scores(0.05) == 19 and minimum_scores(0.01) == 99
    thresholds = conformal_thresholds({ALL: np.linspace(0, 0.5, 18), HEM: np.linspace(0, 0.5, 19)}, 0.05)
    assert thresholds[ALL] == math.inf and math.isfinite(thresholds[HEM])
    # `all` is in every set: a clear `all` cell is answered, anything else is referred, never called `hem`.
    assert conformal_decision(0.99, thresholds).decision == ALL
    answer = conformal_decision(0.01, thresholds)
    assert answer.decision == REFER and answer.prediction_set == (ALL, HEM)


@pytest.mark.parametrize("error_rate", [0.0, 1.0, -0.1, 5])
def test_error_rate_outside_zero_one_is_refused(error_rate):
    with pytest.raises(ValueError, match="error rate"):
        conformal_thresholds({ALL: np.zeros(50)}, error_rate)


def test_decisions_confident_ambiguous_and_empty():
    thresholds = {ALL: 0.6, HEM: 0.6}  # a class is in the set when 1 - p_class <= 0.6, i.e. p_class >= 0.4
    assert conformal_decision(0.9, thresholds).decision == ALL
    assert conformal_decision(0.1, thresholds).decision == HEM
    ambiguous = conformal_decision(0.5, thresholds)
    assert ambiguous.decision == REFER and ambiguous.prediction_set == (ALL, HEM) and "both" in ambiguous.reason
    empty = conformal_decision(0.5, {ALL: 0.2, HEM: 0.2})
    assert empty.decision == REFER and empty.prediction_set == () and "neither" in empty.reason
    assert conformal_decision(0.9, thresholds).reason is None


@pytest.mark.parametrize("error_rate", [0.05, 0.1, 0.2])
def test_coverage_on_exchangeable_data_is_at_least_one_minus_alpha_per_class(error_rate):
    rng = np.random.default_rng(7)

    def cells(n):
        labels = rng.integers(0, 2, n)
        probability_all = 1 / (1 + np.exp(-(rng.normal(0, 1.5, n) + 1.2 * (2 * labels - 1))))
        return labels, probability_all

    labels, probability_all = cells(4000)
    thresholds = conformal_thresholds({ALL: 1 - probability_all[labels == 1], HEM: probability_all[labels == 0]}, error_rate)
    test_labels, test_probability = cells(20000)
    covered = np.array([(ALL if label else HEM) in conformal_decision(p, thresholds).prediction_set
                        for label, p in zip(test_labels, test_probability)])
    for code in (0, 1):
        assert covered[test_labels == code].mean() >= 1 - error_rate - 0.015


def test_from_metadata_none_for_old_sidecars_and_reads_new_ones():
    assert Calibration.from_metadata({}) is None
    assert Calibration.from_metadata({"calibration": {"temperature": 2.0}}) is None
    metadata = {"calibration": {"method": "temperature scaling", "temperature": 2.0, "fitted_on": "held-out subjects"},
                "conformal": {"default_error_rate": 0.05, "scores": {ALL: [0.3, 0.1, 0.2], HEM: [0.05]}, "guarantee": "g"}}
    calibrated = Calibration.from_metadata(metadata)
    assert calibrated.temperature == 2.0 and list(calibrated.scores[ALL]) == [0.1, 0.2, 0.3]
    assert calibrated.probability(0.9) == pytest.approx(calibrated_probability(0.9, 2.0))
    assert calibrated.answer(0.5).decision == REFER  # 3 and 1 scores are far too few at 5%: both classes stay in


def test_from_metadata_malformed_names_the_fix():
    with pytest.raises(ModelError, match="core.cli.calibrate"):
        Calibration.from_metadata({"calibration": {"temperature": -1}, "conformal": {"scores": {ALL: [], HEM: []}}})
