"""core.training.sidecar: the threshold and the calibration come from the calibration subjects; every set is evaluated."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from core.data.index import ImageRecord
from core.data.labels import label_codes
from core.data.splits import Split
from core.training.calibration_fit import fit_temperature
from core.reporting.evaluation import choose_threshold
from core.training.sidecar import as_stored, held_out_evaluations


def role_records(role: str, subjects: dict[str, int]) -> list[ImageRecord]:
    """Records of one role for subjects given as {"7": 20, "H2": 15} (an H prefix: healthy)."""
    return [ImageRecord(Path(f"/data/{role}/UID_{subject}_{n}_1_{'hem' if subject.startswith('H') else 'all'}.bmp"), "fold_0",
                        "hem" if subject.startswith("H") else "all", subject) for subject, count in subjects.items() for n in range(count)]


@pytest.fixture
def split() -> Split:
    return Split(role_records("train", {"1": 30, "H1": 30}), role_records("tuning", {"2": 30, "3": 25, "H2": 40}),
                 role_records("calibration", {"4": 30, "5": 35, "H3": 30, "H4": 25}), "subject", 0)


def fake_predict(records: list[ImageRecord]) -> np.ndarray:
    """P(all) that separates the classes at about 0.3 on the tuning cells and at about 0.7 on the others."""
    rng = np.random.default_rng(len(records))
    codes = label_codes(record.label for record in records)
    centre = np.array([0.3 if "/tuning/" in str(record.path) else 0.7 for record in records])
    return np.clip(centre + np.where(codes == 1, 0.15, -0.15) + rng.normal(0, 0.08, len(records)), 0.001, 0.999)


@pytest.mark.slow
def test_threshold_and_calibration_are_fitted_on_the_calibration_subjects_only(split, tmp_path):
    external = role_records("external", {"9": 20, "H9": 20})
    threshold, evaluations, keys = held_out_evaluations(tmp_path / "m.keras", split, external, fake_predict, seed=0)
    calibration = as_stored(fake_predict(split.calibration)), label_codes(r.label for r in split.calibration)  # as the CSVs hold them
    assert threshold == choose_threshold(calibration[1], calibration[0]) > 0.5
    assert threshold != choose_threshold(label_codes(r.label for r in split.tuning), fake_predict(split.tuning))
    assert keys["calibration"]["temperature"] == pytest.approx(fit_temperature(calibration[1], calibration[0]), rel=1e-4)
    assert [len(keys["conformal"]["scores"][label]) for label in ("all", "hem")] == [65, 55]
    assert set(evaluations) == {"tuning", "calibration", "external"}
    assert all(evaluation["threshold"] == threshold for evaluation in evaluations.values())
    for name, records in (("tuning", split.tuning), ("calibration", split.calibration), ("external", external)):
        assert evaluations[name]["n_images"] == len(records)
        with open(tmp_path / evaluations[name]["predictions_csv"]) as handle:
            assert [row["path"] for row in csv.DictReader(handle)] == [str(record.path) for record in records]
    # One answer per held-out subject pools both held-out roles; the training subjects are never answered.
    rows = keys["subject_evaluation"]["held_out"]["rows"]
    assert {row["subject"] for row in rows} == {"2", "3", "H2", "4", "5", "H3", "H4"}
