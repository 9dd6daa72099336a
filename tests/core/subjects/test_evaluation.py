"""The sidecar's subject-level evaluation: per set from cell arrays, held-out subjects only with a subject split."""
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from core.model.subject_schema import check_subject_evaluation
from core.subjects import cohort, evaluation


def _cells(subjects=8, per_subject=12, seed=0):
    """Half ALL subjects (cells around P(ALL) 0.7), half healthy (around 0.3): (P(ALL), codes, names)."""
    rng = np.random.default_rng(seed)
    probabilities, codes, names = [], [], []
    for index in range(subjects):
        code = int(index % 2 == 0)
        probabilities += list(np.clip(rng.normal(0.7 if code else 0.3, 0.2, per_subject), 0.01, 0.99))
        codes += [code] * per_subject
        names += [f"S{index}"] * per_subject
    return probabilities, codes, names


def test_one_row_per_known_subject_with_every_figure():
    probabilities, codes, names = _cells()
    names[:12] = [None] * 12  # The first subject's cells have no known subject: they are left out.
    found = evaluation.evaluate_subjects(probabilities, codes, names, threshold=0.5)
    assert [row["subject"] for row in found["rows"]] == [f"S{index}" for index in range(1, 8)]
    summary = found["summary"]
    assert summary["subjects"] == 7 and summary["correct"] == 7
    low, high = summary["roc_auc_ci"]
    assert low <= summary["roc_auc"] <= high
    assert set(found["rules"]) == {"mean_log_odds", "mean_probability", "share_above_threshold"}
    assert [point["cells"] for point in found["cells_needed"]] == [1, 2, 5, 10]
    assert found["stable_after"] in (1, 2, 5, 10)
    assert evaluation.evaluate_subjects(probabilities, codes, [None] * len(codes), 0.5) is None


def test_pairwise_auc_matches_scikit_learn_with_ties():
    truths, scores = np.array([1, 0, 1, 0, 1, 0]), np.array([0.9, 0.4, 0.4, 0.1, 0.7, 0.8])
    assert cohort.pairwise_auc(truths, scores) == pytest.approx(roc_auc_score(truths, scores))


def test_auc_interval_needs_both_classes():
    rows = [{"truth": "all", "score": 0.8}, {"truth": "all", "score": 0.6}]
    assert evaluation.auc_interval(rows) is None


def test_an_image_split_has_no_held_out_subjects_and_the_key_passes_the_schema():
    cells = _cells()
    both = evaluation.subject_evaluation({"validation": cells, "external": _cells(seed=1)}, 0.5, 1.3, "subject")
    assert set(both) == {"rule", "held_out", "external"}
    check_subject_evaluation({"subject_evaluation": both}, "test.json")
    image = evaluation.subject_evaluation({"validation": cells, "external": _cells(seed=1)}, 0.5, None, "image")
    assert set(image) == {"rule", "external"}
    assert evaluation.subject_evaluation({"validation": cells}, 0.5, None, "image") is None


def test_the_tuning_and_calibration_subjects_pool_into_the_held_out_subjects():
    probabilities, codes, names = _cells()
    half = len(names) // 2
    pooled = evaluation.subject_evaluation({"tuning": (probabilities[:half], codes[:half], names[:half]),
                                                    "calibration": (probabilities[half:], codes[half:], names[half:])},
                                                   0.5, 1.3, "subject")
    assert pooled == evaluation.subject_evaluation({"validation": (probabilities, codes, names)}, 0.5, 1.3, "subject")
    check_subject_evaluation({"subject_evaluation": pooled}, "test.json")


def test_a_subject_with_both_labels_becomes_a_note_not_a_crash():
    probabilities, codes, names = _cells()
    codes[0] = 1 - codes[0]
    found = evaluation.subject_evaluation({"validation": (probabilities, codes, names)}, 0.5, None, "subject")
    assert "held_out" not in found and "both labels" in found["notes"][0]
    check_subject_evaluation({"subject_evaluation": found}, "test.json")


def test_summary_line_names_subjects_auc_and_stability():
    found = evaluation.subject_evaluation({"validation": _cells()}, 0.5, None, "subject")
    line = evaluation.summary_line(found)
    assert line.startswith("8 of 8 subjects right, subject-level ROC AUC 1.000")
    assert evaluation.summary_line(found, "external") is None


def test_the_demo_run_writes_a_subject_evaluation_that_passes_the_schema(trained_sidecar):
    found = trained_sidecar["subject_evaluation"]
    check_subject_evaluation(trained_sidecar, "demo sidecar")
    assert found["rule"] == "mean_log_odds" and found["held_out"]["rows"]
    roles = trained_sidecar["split_roles"]
    assert {row["subject"] for row in found["held_out"]["rows"]} == set(roles["tuning"]) | set(roles["calibration"])
    cells = sum(row["cells"] for row in found["held_out"]["rows"])
    assert cells == sum(trained_sidecar["evaluation"][role]["n_images"] for role in ("tuning", "calibration"))
