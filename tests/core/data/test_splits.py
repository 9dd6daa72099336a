"""Tests for core.data.splits: subject-level splits share no subject; image splits leak subjects."""
from __future__ import annotations

from pathlib import Path

import pytest

from core.data.index import DatasetIndex, ImageRecord
from core.data.splits import Split, external_test_set, image_split, subject_split
from paths import FILE_LIST



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


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_subject_split_shares_no_subject_and_keeps_both_classes(small_records, seed):
    split = subject_split(small_records, 0.3, seed)
    subjects = split.subjects()
    assert not set(subjects["train"]) & set(subjects["validation"])
    assert labels_of(split.train) == labels_of(split.validation) == {"all", "hem"}
    assert len(split.train) + len(split.validation) == len(small_records)
    assert (split.kind, split.seed) == ("subject", seed)


def test_subject_split_is_deterministic_and_independent_of_order(small_records):
    first = subject_split(small_records, seed=3)
    assert subject_split(small_records, seed=3) == first
    assert subject_split(list(reversed(small_records)), seed=3).subjects() == first.subjects()


def test_different_seeds_give_different_subject_splits(real_records):
    splits = {tuple(subject_split(real_records, seed=seed).subjects()["validation"]) for seed in range(5)}
    assert len(splits) == 5


@pytest.mark.parametrize("fraction", [0.1, 0.2, 0.3])
def test_subject_split_honours_the_fraction_per_class_on_real_data(real_records, fraction):
    for seed in range(5):
        split = subject_split(real_records, fraction, seed)
        assert not set(split.subjects()["train"]) & set(split.subjects()["validation"])
        for label in ("all", "hem"):
            in_validation = sum(record.label == label for record in split.validation)
            in_total = sum(record.label == label for record in real_records)
            assert abs(in_validation / in_total - fraction) < 0.07, (label, seed)


@pytest.mark.parametrize("fraction", [0.01, 0.2, 0.99])
def test_two_subjects_per_class_put_one_on_each_side(fraction):
    split = subject_split(make_records({"1": 50, "2": 50, "H1": 3, "H2": 90}), fraction)
    assert labels_of(split.train) == labels_of(split.validation) == {"all", "hem"}


def test_image_split_is_stratified_but_leaks_subjects(real_records):
    split = image_split(real_records, 0.2, seed=0)
    assert split.kind == "image"
    assert len(split.validation) == pytest.approx(0.2 * len(real_records), abs=1)
    share_all = sum(record.label == "all" for record in split.validation) / len(split.validation)
    assert share_all == pytest.approx(7272 / 10661, abs=0.005)
    subjects = split.subjects()
    shared = set(subjects["train"]) & set(subjects["validation"])
    # The leak the subject split exists to prevent: nearly every patient is on both sides.
    assert len(shared) >= 0.9 * len(set(subjects["train"]) | set(subjects["validation"]))
    assert image_split(real_records, 0.2, seed=0) == split


@pytest.mark.parametrize("fraction", [0, 1, -0.1, 1.5, float("nan")])
@pytest.mark.parametrize("split_function", [subject_split, image_split])
def test_bad_fractions_are_rejected(small_records, split_function, fraction):
    with pytest.raises(ValueError, match="between 0 and 1"):
        split_function(small_records, fraction)


@pytest.mark.parametrize("sizes", [{"1": 5, "2": 5, "H1": 5}, {"1": 5, "2": 5}, {}])
def test_too_few_subjects_is_a_clear_error(sizes):
    with pytest.raises(ValueError, match="at least 2 subjects|No records"):
        subject_split(make_records(sizes))


def test_records_without_subject_or_label_are_refused(small_records):
    no_subject = ImageRecord(Path("fold_0/all/scan 7.bmp"), "fold_0", "all", None)
    with pytest.raises(ValueError, match="no subject.*scan 7.bmp"):
        subject_split(small_records + [no_subject])
    assert len(image_split(small_records + [no_subject]).validation) > 0
    unlabeled = ImageRecord(Path("test/1.bmp"), "test", None, None)
    with pytest.raises(ValueError, match="no label"):
        image_split(small_records + [unlabeled])


def test_a_subject_with_both_labels_is_refused(small_records):
    odd = ImageRecord(Path("fold_0/hem/UID_1_99_1_hem.bmp"), "fold_0", "hem", "1")
    with pytest.raises(ValueError, match=r"\['1'\] have images of both labels"):
        subject_split(small_records + [odd])


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
    split = Split(make_records({"10": 1, "2": 1}), make_records({"H11": 1, "H3": 1}), "subject", 0)
    assert split.subjects() == {"train": ["2", "10"], "validation": ["H3", "H11"]}
