"""Evaluation metrics: properties that would catch a real bug, on small hand-made arrays."""
import numpy as np
import pytest

from core.reporting.evaluation import (
    bootstrap_auc_ci, calibration, choose_threshold, curve_indices, evaluate, MAX_CURVE_POINTS,
)


@pytest.fixture()
def held_out():
    rng = np.random.default_rng(0)
    subjects = np.repeat([f"S{i}" for i in range(12)], 20)
    labels = np.repeat([1] * 8 + [0] * 4, 20)
    probabilities = np.clip(0.3 * labels + 0.35 + rng.normal(0, 0.15, labels.size), 0, 1)
    return labels, probabilities, subjects


def test_perfect_scores_give_auc_one_and_threshold_between_classes():
    labels = np.array([0, 0, 1, 1])
    probabilities = np.array([0.1, 0.2, 0.8, 0.9])
    threshold = choose_threshold(labels, probabilities)
    assert 0.2 < threshold <= 0.8
    result = evaluate(labels, probabilities, ["a", "a", "b", "b"], threshold)
    assert result["roc_auc"] == 1.0 and result["accuracy"] == 1.0
    assert result["confusion_matrix"] == [[2, 0], [0, 2]]


def test_every_model_card_field_present_and_sane(held_out):
    labels, probabilities, subjects = held_out
    result = evaluate(labels, probabilities, subjects, 0.5)
    for key in ("accuracy", "balanced_accuracy", "weighted_f1", "sensitivity", "specificity", "roc_auc", "brier", "ece"):
        assert 0.0 <= result[key] <= 1.0, key
    low, high = result["roc_auc_ci95"]
    assert low <= result["roc_auc"] <= high
    assert np.sum(result["confusion_matrix"]) == labels.size
    assert len(result["per_subject"]) == 12
    assert result["baseline_all"]["accuracy"] == pytest.approx(labels.mean())
    assert result["baseline_all"]["sensitivity"] == 1.0 and result["baseline_all"]["specificity"] == 0.0
    assert len(result["roc_curve"]["fpr"]) <= MAX_CURVE_POINTS


@pytest.mark.slow
def test_always_all_baseline_matches_the_dataset_fact():
    # C-NMC training folds: 7,272 all and 3,389 hem -> always "all" scores 68.2%.
    labels = np.array([1] * 7272 + [0] * 3389)
    result = evaluate(labels, np.full(labels.size, 0.9), ["s"] * labels.size, 0.5)
    assert result["baseline_all"]["accuracy"] == pytest.approx(0.682, abs=0.001)
    assert result["balanced_accuracy"] == 0.5


def test_calibration_of_a_calibrated_predictor_is_near_zero():
    rng = np.random.default_rng(1)
    probabilities = rng.uniform(0, 1, 20000)
    labels = (rng.uniform(0, 1, 20000) < probabilities).astype(int)
    bins, ece = calibration(labels, probabilities)
    assert ece < 0.02
    assert sum(bins["bin_count"]) == 20000


def test_bootstrap_is_by_subject_and_seeded(held_out):
    labels, probabilities, subjects = held_out
    first = bootstrap_auc_ci(labels, probabilities, subjects, seed=3, rounds=200)
    assert first == bootstrap_auc_ci(labels, probabilities, subjects, seed=3, rounds=200)
    assert first[0] < first[1]


def test_single_class_set_gives_no_auc_instead_of_crashing():
    result = evaluate(np.ones(5, int), np.linspace(0.1, 0.9, 5), list("abcde"), 0.5)
    assert result["roc_auc"] is None and result["roc_auc_ci95"] is None
    assert "roc_curve" not in result


def test_curve_indices_keep_both_ends():
    indices = curve_indices(1000)
    assert indices[0] == 0 and indices[-1] == 999 and len(indices) <= MAX_CURVE_POINTS


def test_ece_by_hand_and_brier_interval_from_the_subject_bootstrap(held_out):
    from core.reporting.evaluation import bootstrap_ci, brier_score, expected_calibration_error

    # Bins [0, 0.1) and [0.9, 1]: half the cells each, gaps 0.05 and 0.05 -> ECE 0.05.
    assert expected_calibration_error(np.array([0, 1]), np.array([0.05, 0.95])) == pytest.approx(0.05)
    # Two cells in one bin: |mean p - share all| = |0.55 - 0.5| over the whole set.
    assert expected_calibration_error(np.array([0, 1]), np.array([0.52, 0.58])) == pytest.approx(0.05)
    labels, probabilities, subjects = held_out
    low, high = bootstrap_ci(labels, probabilities, subjects, brier_score, seed=1, rounds=200)
    assert low <= brier_score(labels, probabilities) <= high


def test_card_scores_match_scikit_learn(held_out):
    from sklearn import metrics

    from core.reporting.evaluation import card_scores, classification_scores

    labels, probabilities, _ = held_out
    scores = card_scores(labels, probabilities, 0.55)
    expected = classification_scores(labels, (probabilities >= 0.55).astype(int))
    for key, value in expected.items():
        assert scores[key] == pytest.approx(value), key
    assert scores["roc_auc"] == pytest.approx(metrics.roc_auc_score(labels, probabilities))
    assert scores["brier"] == pytest.approx(metrics.brier_score_loss(labels, probabilities))


@pytest.mark.slow
def test_every_card_metric_gets_a_subject_bootstrap_interval(held_out):
    from core.reporting.evaluation import CARD_METRICS

    labels, probabilities, subjects = held_out
    result = evaluate(labels, probabilities, subjects, 0.5)
    for key in CARD_METRICS:
        low, high = result[f"{key}_ci95"]
        assert 0.0 <= low <= high <= 1.0 and low <= result[key] <= high, key
    assert result["roc_auc_ci95"] == bootstrap_auc_ci(labels, probabilities, subjects)  # The same resamples.
