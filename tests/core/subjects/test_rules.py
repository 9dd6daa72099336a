"""Subject-level aggregation: each rule by hand, exclusions, the interval and the running estimate."""
import math
from dataclasses import dataclass

import numpy as np
import pytest

from core.data import labels
from core.subjects import rules


@dataclass(frozen=True)
class FakeAssessment:
    probability_all: float
    answer: str = "all"
    out_of_scope: bool = False


def test_mean_log_odds_is_the_geometric_mean_of_the_odds():
    # Odds 9 and 1/3: geometric mean sqrt(3), so the score is sqrt(3) / (1 + sqrt(3)).
    score = rules.subject_score(np.array([0.9, 0.25]), 0.5, rules.MEAN_LOG_ODDS)
    assert score == pytest.approx(math.sqrt(3) / (1 + math.sqrt(3)))


def test_one_saturated_cell_cannot_outvote_ten_ordinary_ones():
    cells = np.array([1.0] + [0.3] * 10)
    assert rules.subject_score(cells, 0.5, rules.MEAN_LOG_ODDS) < 0.5


def test_mean_probability_and_share_rules_by_hand():
    cells = np.array([0.9, 0.6, 0.2, 0.1])
    assert rules.subject_score(cells, 0.5, rules.MEAN_PROBABILITY) == pytest.approx(0.45)
    assert rules.subject_score(cells, 0.55, rules.SHARE_ABOVE_THRESHOLD) == pytest.approx(0.5)
    assert rules.decision_threshold(0.55, rules.SHARE_ABOVE_THRESHOLD) == 0.5


@pytest.mark.parametrize("temperature", [0.5, 2.0, 3.7])
def test_temperature_changes_the_log_odds_score_but_never_the_answer(temperature):
    rng = np.random.default_rng(1)
    for _ in range(50):
        cells, threshold = rng.uniform(0.01, 0.99, size=7), rng.uniform(0.2, 0.8)
        raw = rules.subject_score(cells, threshold) >= rules.decision_threshold(threshold)
        scaled = (rules.subject_score(cells, threshold, temperature=temperature)
                  >= rules.decision_threshold(threshold, temperature=temperature))
        assert raw == scaled


def test_interval_contains_the_score_and_collapses_for_identical_cells():
    cells = np.array([0.9, 0.8, 0.3, 0.7, 0.95])
    low, high = rules.score_interval(cells, 0.5)
    assert low <= rules.subject_score(cells, 0.5) <= high and low < high
    assert rules.score_interval(np.array([0.7] * 4), 0.5) == pytest.approx((0.7, 0.7))


def test_running_scores_end_at_the_subject_score():
    cells = np.array([0.9, 0.2, 0.6])
    running = rules.running_scores(cells, 0.5)
    assert running.shape == (3,) and running[0] == pytest.approx(0.9)
    assert running[-1] == pytest.approx(rules.subject_score(cells, 0.5))


def test_refer_and_out_of_scope_cells_are_counted_and_left_out():
    cells = [FakeAssessment(0.9), FakeAssessment(0.8), FakeAssessment(0.1, answer=labels.REFER),
             FakeAssessment(0.05, answer=labels.REFER, out_of_scope=True), FakeAssessment(0.0, out_of_scope=True)]
    answer = rules.answer_subject("UID_7", cells, threshold=0.5)
    assert (answer.cells_used, answer.cells_referred, answer.cells_out_of_scope) == (2, 1, 2)
    assert answer.cells_total == 5 and answer.answer == labels.ALL
    assert answer.score == pytest.approx(rules.subject_score(np.array([0.9, 0.8]), 0.5))


def test_a_subject_without_usable_cells_is_referred():
    answer = rules.answer_subject("x", [FakeAssessment(0.9, out_of_scope=True)], threshold=0.5)
    assert answer.answer == labels.REFER and answer.score is None and answer.interval is None


def test_unknown_rule_and_empty_subject_say_what_to_do():
    with pytest.raises(ValueError, match="choose one of"):
        rules.subject_score(np.array([0.5]), 0.5, "median")
    with pytest.raises(ValueError, match="at least one answered cell"):
        rules.subject_score(np.array([]), 0.5)
