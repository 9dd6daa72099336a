"""Subject-level evaluation: grouping, exact intervals, the rules compared and the cells-needed curve."""
import numpy as np
import pytest

from core.data import labels
from core.subjects import cohort


def _cells(seed=0, per_subject=30):
    """Six ALL subjects with cells around P(ALL) 0.7 and six healthy ones around 0.3, noisy."""
    rng = np.random.default_rng(seed)
    probabilities, codes, names = [], [], []
    for index in range(12):
        code = int(index < 6)
        centre = 0.7 if code else 0.3
        probabilities += list(np.clip(rng.normal(centre, 0.25, per_subject), 0.01, 0.99))
        codes += [code] * per_subject
        names += [f"S{index}"] * per_subject
    return probabilities, codes, names


def test_group_cells_refuses_a_subject_with_both_labels():
    with pytest.raises(ValueError, match="both labels"):
        cohort.group_cells([0.1, 0.9], [0, 1], ["A", "A"])
    with pytest.raises(ValueError, match="one entry per cell"):
        cohort.group_cells([0.1], [0, 1], ["A", "B"])


def test_clopper_pearson_matches_known_values():
    # 7 of 10: the exact 95% interval is [0.3475, 0.9333] (standard tables).
    low, high = cohort.clopper_pearson(7, 10)
    assert low == pytest.approx(0.3475, abs=1e-4) and high == pytest.approx(0.9333, abs=1e-4)
    assert cohort.clopper_pearson(5, 5)[1] == 1.0 and cohort.clopper_pearson(0, 0) is None


def test_subject_table_and_summary():
    grouped = cohort.group_cells(*_cells())
    rows = cohort.subject_table(grouped, threshold=0.5)
    assert len(rows) == 12 and all(row["cells"] == 30 for row in rows)
    assert {row["truth"] for row in rows} == {labels.ALL, labels.HEM}
    summary = cohort.summarise(rows)
    assert summary["subjects"] == 12 and summary["accuracy"] == 1.0 and summary["roc_auc"] == 1.0
    assert summary["accuracy_ci"][0] < 1.0


def test_every_rule_is_compared():
    comparison = cohort.compare_rules(cohort.group_cells(*_cells()), threshold=0.5)
    assert set(comparison) == {"mean_log_odds", "mean_probability", "share_above_threshold"}


def test_more_cells_agree_more_with_the_final_answer():
    curve = cohort.cells_needed_curve(cohort.group_cells(*_cells()), threshold=0.5)
    sizes = [point["cells"] for point in curve]
    assert sizes == [1, 2, 5, 10, 20]  # No subject has 50 cells.
    agreement = [point["agreement"] for point in curve]
    assert agreement[0] < agreement[-1] and agreement[-1] >= 0.95
    assert cohort.stable_after(curve) in sizes[1:]
    assert cohort.stable_after(curve, share=1.01) is None
