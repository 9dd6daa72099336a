"""Tests for core.data.splits: the three roles of a subject-level split share no subject; image splits leak subjects."""
from __future__ import annotations

from pathlib import Path

import pytest

from core.data.index import DatasetIndex, ImageRecord
from core.data.splits import Split, external_test_set, image_split, role_counts, subject_split



def make_records(images_per_subject: dict[str, int]) -> list[ImageRecord]:
    """Records for subjects given as {"7": 20, "H2": 5}: an H prefix means a healthy (hem) subject."""
    records = []
    for subject, count in images_per_subject.items():
        label = "hem" if subject.startswith("H") else "all"
        for number in range(1, count + 1):
            path = Path(f"fold_0/{label}/UID_{subject}_{number}_1_{label}.bmp")
            records.append(ImageRecord(path, "fold_0", label, subject))
    return records


@pytest.fixture(scope="module")
def real_records(real_file_records) -> list[ImageRecord]:
    """The 10,661 training-fold records of the real file list (no files are touched)."""
    return [record for record in real_file_records if record.label]


@pytest.fixture
def small_records() -> list[ImageRecord]:
    sizes = {str(number): 10 + 3 * number for number in range(1, 11)}
    sizes.update({f"H{number}": 8 + 2 * number for number in range(1, 6)})
    return make_records(sizes)


def labels_of(records: list[ImageRecord]) -> set[str]:
    return {record.label for record in records}


FRACTIONS = (0.15, 0.15)  # TrainOptions' defaults.


def roles_of_subjects(split: Split) -> dict[str, set[str]]:
    return {role: {record.subject for record in records} for role, records in split.roles().items()}


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_subject_split_roles_share_no_subject_and_each_holds_both_classes(small_records, seed):
    split = subject_split(small_records, 0.2, 0.25, seed)
    subjects = roles_of_subjects(split)
    assert not subjects["train"] & subjects["tuning"] and not subjects["train"] & subjects["calibration"]
    assert not subjects["tuning"] & subjects["calibration"]
    assert labels_of(split.train) == labels_of(split.tuning) == labels_of(split.calibration) == {"all", "hem"}
    assert sorted(map(id, split.train + split.held_out)) == sorted(map(id, small_records))  # every record, once
    assert split.held_out == split.tuning + split.calibration
    assert (split.kind, split.seed) == ("subject", seed)


def test_subject_split_is_deterministic_and_independent_of_order(small_records):
    first = subject_split(small_records, *FRACTIONS, seed=3)
    assert subject_split(small_records, *FRACTIONS, seed=3) == first
    assert subject_split(list(reversed(small_records)), *FRACTIONS, seed=3).subjects() == first.subjects()


def test_different_seeds_give_different_subject_splits(real_records):
    splits = {tuple(subject_split(real_records, *FRACTIONS, seed=seed).subjects()["calibration"]) for seed in range(5)}
    assert len(splits) == 5


def test_the_default_fractions_give_c_nmc_51_train_11_tuning_11_calibration_subjects(real_records):
    """README: of 47 ALL and 26 healthy subjects, 7 + 4 tune, 7 + 4 calibrate, and each role has about its share of cells."""
    for seed in range(5):
        split = subject_split(real_records, *FRACTIONS, seed)
        subjects = split.subjects()
        assert {role: len(found) for role, found in subjects.items()} == {"train": 51, "tuning": 11, "calibration": 11}
        for role in ("tuning", "calibration"):
            assert sum(subject.upper().startswith("H") for subject in subjects[role]) == 4, (role, seed)
            for label in ("all", "hem"):
                in_role = sum(record.label == label for record in split.roles()[role])
                in_total = sum(record.label == label for record in real_records)
                assert abs(in_role / in_total - 0.15) < 0.05, (role, label, seed)


@pytest.mark.parametrize("subjects, fractions, counts", [
    (47, (0.15, 0.15), (7, 7)), (26, (0.15, 0.15), (4, 4)), (14, (0.15, 0.15), (2, 2)),
    (3, (0.01, 0.01), (1, 1)), (3, (0.45, 0.45), (1, 1)), (4, (0.45, 0.45), (1, 2)), (10, (0.3, 0.1), (3, 1)),
])
def test_role_counts_round_half_up_and_leave_one_subject_to_train(subjects, fractions, counts):
    assert role_counts(subjects, *fractions) == counts
    assert subjects - sum(counts) >= 1 and min(counts) >= 1


def test_three_subjects_per_class_put_one_in_each_role():
    split = subject_split(make_records({"1": 50, "2": 50, "3": 5, "H1": 3, "H2": 90, "H3": 9}), 0.3, 0.3)
    assert labels_of(split.train) == labels_of(split.tuning) == labels_of(split.calibration) == {"all", "hem"}
    assert all(len(found) == 2 for found in split.subjects().values())


def test_image_split_is_stratified_three_ways_but_leaks_subjects(real_records):
    split = image_split(real_records, 0.1, 0.2, seed=0)
    assert split.kind == "image"
    assert len(split.calibration) == pytest.approx(0.2 * len(real_records), abs=1)
    assert len(split.tuning) == pytest.approx(0.1 * len(real_records), abs=2)
    for records in split.roles().values():
        share_all = sum(record.label == "all" for record in records) / len(records)
        assert share_all == pytest.approx(7272 / 10661, abs=0.005)
    subjects = roles_of_subjects(split)
    shared = subjects["train"] & subjects["calibration"]
    # The leak the subject split exists to prevent: nearly every patient is in training and in calibration.
    assert len(shared) >= 0.9 * len(subjects["train"] | subjects["calibration"])
    assert len(split.train) + len(split.held_out) == len(real_records)
    assert image_split(real_records, 0.1, 0.2, seed=0) == split


@pytest.mark.parametrize("fractions", [(0, 0.2), (0.2, 1), (-0.1, 0.2), (0.2, 1.5), (float("nan"), 0.2)])
@pytest.mark.parametrize("split_function", [subject_split, image_split])
def test_bad_fractions_are_rejected(small_records, split_function, fractions):
    with pytest.raises(ValueError, match="between 0 and 1"):
        split_function(small_records, *fractions)


@pytest.mark.parametrize("split_function", [subject_split, image_split])
def test_fractions_that_leave_nothing_to_train_on_are_rejected(small_records, split_function):
    with pytest.raises(ValueError, match="below 1"):
        split_function(small_records, 0.5, 0.5)


@pytest.mark.parametrize("sizes", [{"1": 5, "2": 5, "3": 5, "H1": 5, "H2": 5}, {"1": 5, "2": 5}, {}])
def test_too_few_subjects_is_a_clear_error(sizes):
    with pytest.raises(ValueError, match="at least 3 subjects|No records"):
        subject_split(make_records(sizes), *FRACTIONS)


def test_records_without_subject_or_label_are_refused(small_records):
    no_subject = ImageRecord(Path("fold_0/all/scan 7.bmp"), "fold_0", "all", None)
    with pytest.raises(ValueError, match="no subject.*scan 7.bmp"):
        subject_split(small_records + [no_subject], *FRACTIONS)
    assert len(image_split(small_records + [no_subject], *FRACTIONS).calibration) > 0
    unlabeled = ImageRecord(Path("test/1.bmp"), "test", None, None)
    with pytest.raises(ValueError, match="no label"):
        image_split(small_records + [unlabeled], *FRACTIONS)


def test_a_subject_with_both_labels_is_refused(small_records):
    odd = ImageRecord(Path("fold_0/hem/UID_1_99_1_hem.bmp"), "fold_0", "hem", "1")
    with pytest.raises(ValueError, match=r"\['1'\] have images of both labels"):
        subject_split(small_records + [odd], *FRACTIONS)


def test_external_test_set_keeps_labelled_validation_records():
    records = [
        ImageRecord(Path("v/1.bmp"), "validation", "all", "57"),
        ImageRecord(Path("v/2.bmp"), "validation", None, None),
        ImageRecord(Path("t/1.bmp"), "test", None, None),
        *make_records({"1": 2}),
    ]
    index = DatasetIndex(root=Path("."), records=records, warnings=[])
    assert external_test_set(index) == records[:1]
    assert external_test_set(DatasetIndex(Path("."), make_records({"1": 2}), [])) == []


def test_split_subjects_are_sorted_naturally():
    split = Split(make_records({"10": 1, "2": 1}), make_records({"H11": 1, "H3": 1}), make_records({"7": 1}), "subject", 0)
    assert split.subjects() == {"train": ["2", "10"], "tuning": ["H3", "H11"], "calibration": ["7"]}
