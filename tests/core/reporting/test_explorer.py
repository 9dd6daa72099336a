"""Tests for core.reporting.explorer: counts, baseline, filters, pagination, thumbnails, mistakes, figures."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest

from core.data.index import ImageRecord, index_dataset
from core.data.summary import summarize
from core.data.sides import SPLIT_NAMES
from core.reporting import explorer, explorer_figures
from core.training.sidecar import write_predictions_csv

SMALL_TREE = {
    "training_data/fold_0/all": ["UID_1_1_1_all.bmp", "UID_1_1_2_all.bmp", "UID_1_2_1_all.bmp", "UID_10_1_1_all.bmp"],
    "training_data/fold_0/hem": ["UID_H2_1_1_hem.bmp"],
    "training_data/fold_1/all": ["UID_2_1_1_all.bmp"],
    "training_data/fold_1/hem": ["UID_H3_1_1_hem.bmp", "UID_H3_2_1_hem.bmp"],
    "training_data/fold_2/all": ["UID_3_1_1_all.bmp"],
    "training_data/fold_2/hem": ["UID_h4_1_1_hem.bmp"],
    "validation_data/C-NMC_test_prelim_phase_data": ["1.bmp", "2.bmp", "3.bmp"],
    "testing_data/C-NMC_test_final_phase_data": ["1.bmp", "2.bmp"],
}
LABELS_CSV = "Patient_ID,new_names,labels\nUID_30_1_1_all.bmp,1.bmp,1\nUID_H9_1_1_hem.bmp,2.bmp,0\n"


@pytest.fixture(scope="module")
def small_index(tmp_path_factory):
    """Placeholder files: 6 all and 4 hem training images (7 subjects), 3 validation (one unlabeled), 2 test."""
    root = tmp_path_factory.mktemp("explorer") / "C-NMC_Leukemia"
    for folder, names in SMALL_TREE.items():
        (root / folder).mkdir(parents=True)
        for name in names:
            (root / folder / name).touch()
    (root / "validation_data" / "C-NMC_test_prelim_phase_data_labels.csv").write_text(LABELS_CSV)
    return index_dataset(root)


@pytest.fixture(scope="module")
def small_summary(small_index):
    return summarize(small_index)


def test_training_counts_and_chance_baseline(small_summary):
    assert explorer.training_counts(small_summary) == {"all": 6, "hem": 4}
    assert explorer.chance_baseline(small_summary) == pytest.approx(6 / 10)


def test_no_labelled_training_images_means_no_baseline():
    summary = {"images": {"test": {"unlabeled": 5}}, "subjects": {"all": 0, "hem": 0}, "warnings": []}
    assert explorer.chance_baseline(summary) is None


def test_images_per_subject_counts_training_subjects_largest_first(small_index):
    rows = explorer.images_per_subject(small_index.records)
    assert [row["subject"] for row in rows][:2] == ["1", "H3"]
    assert rows[0] == {"subject": "1", "label": "all", "split": "fold_0", "images": 3}
    assert sum(row["images"] for row in rows) == 10
    assert all(row["split"].startswith("fold_") for row in rows)  # validation subjects are left out
    counts = [row["images"] for row in rows]
    assert counts == sorted(counts, reverse=True)


def test_subjects_are_in_natural_order(small_index):
    assert explorer.subjects(small_index.records) == ["1", "2", "3", "10", "30", "H2", "H3", "H4", "H9"]


@pytest.mark.parametrize(
    "filters, expected",
    [
        ({}, 15),
        ({"split": "fold_0"}, 5),
        ({"label": "hem"}, 5),  # 4 training + 1 validation
        ({"label": "unlabeled"}, 3),  # validation image 3 has no CSV row, plus 2 test images
        ({"split": "validation", "label": "unlabeled"}, 1),
        ({"subject": "1"}, 3),
        ({"split": "fold_1", "subject": "1"}, 0),
    ],
)
def test_filter_records(small_index, filters, expected):
    found = explorer.filter_records(small_index.records, **filters)
    assert len(found) == expected
    for record in found:
        assert filters.get("split") in (None, record.split)
        assert filters.get("subject") in (None, record.subject)
        assert filters.get("label") in (None, record.label or explorer.UNLABELED)


@pytest.mark.parametrize("total, per_page, pages", [(0, 12, 1), (1, 12, 1), (12, 12, 1), (13, 12, 2), (15_114, 12, 1260)])
def test_page_count(total, per_page, pages):
    assert explorer.page_count(total, per_page) == pages


def test_page_count_rejects_an_empty_page():
    with pytest.raises(ValueError, match="per_page"):
        explorer.page_count(10, 0)


def test_pages_cover_every_item_once_and_clamp_out_of_range_pages():
    items = list(range(30))
    pages = [explorer.page_items(items, page, 12) for page in range(1, explorer.page_count(30, 12) + 1)]
    assert [len(page) for page in pages] == [12, 12, 6]
    assert sum(pages, []) == items
    assert explorer.page_items(items, 0, 12) == pages[0]
    assert explorer.page_items(items, 99, 12) == pages[-1]
    assert explorer.page_items([], 1, 12) == []


@pytest.mark.parametrize("shape, expected", [((450, 450, 3), (128, 128, 3)), ((300, 600, 3), (64, 128, 3)), ((100, 80, 3), (100, 80, 3))])
def test_thumbnail_fits_the_side_keeps_aspect_and_never_enlarges(shape, expected):
    image_rgb = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    small = explorer.thumbnail(image_rgb)
    assert small.shape == expected and small.dtype == np.uint8


def test_thumbnail_averages_areas():
    image_rgb = np.zeros((256, 256, 3), np.uint8)
    image_rgb[::2] = 255  # Stripes one pixel high average to mid-grey when halved.
    assert abs(int(explorer.thumbnail(image_rgb).mean()) - 127) <= 1


def test_misclassified_uses_the_threshold_and_puts_confident_mistakes_first():
    rows = [
        {"path": "a.bmp", "label": "all", "probability_all": 0.9},  # right
        {"path": "b.bmp", "label": "all", "probability_all": 0.3},  # wrong, close to 0.42
        {"path": "c.bmp", "label": "hem", "probability_all": 0.95},  # wrong, confident
        {"path": "d.bmp", "label": "hem", "probability_all": 0.42},  # at the threshold counts as all: wrong
        {"path": "e.bmp", "label": "hem", "probability_all": 0.1},  # right
    ]
    wrong = explorer.misclassified(rows, threshold=0.42)
    assert [row["path"] for row in wrong] == ["c.bmp", "b.bmp", "d.bmp"]
    assert [row["predicted"] for row in wrong] == ["all", "hem", "all"]


def test_read_predictions_round_trip_and_errors(tmp_path):
    records = [ImageRecord(Path("x/1.bmp"), "validation", "all", "7"), ImageRecord(Path("x/2.bmp"), "validation", "hem", None)]
    good = tmp_path / "good.csv"
    write_predictions_csv(good, records, np.array([0.25, 0.75]))  # the trainer's own writer
    rows = explorer.read_predictions(good)
    assert [row["probability_all"] for row in rows] == [0.25, 0.75]
    assert [(row["path"], row["subject"], row["label"]) for row in rows] == [("x/1.bmp", "7", "all"), ("x/2.bmp", "", "hem")]
    missing = tmp_path / "missing.csv"
    missing.write_text("path,label\nx.bmp,all\n")
    with pytest.raises(ValueError, match="probability_all"):
        explorer.read_predictions(missing)
    outside = tmp_path / "outside.csv"
    write_predictions_csv(outside, records[:1], np.array([1.5]))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        explorer.read_predictions(outside)


def test_resolve_image(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "1.bmp").touch()
    assert explorer.resolve_image(str(tmp_path / "data" / "1.bmp")) == tmp_path / "data" / "1.bmp"
    assert explorer.resolve_image("1.bmp", tmp_path, tmp_path / "data") == tmp_path / "data" / "1.bmp"
    assert explorer.resolve_image("2.bmp", tmp_path / "data") is None


def test_class_balance_figure_has_one_bar_trace_per_class(small_summary):
    figure = explorer_figures.class_balance_figure(small_summary)
    assert isinstance(figure, go.Figure) and figure.layout.barmode == "group"
    assert [trace.type for trace in figure.data] == ["bar", "bar"]
    assert list(figure.data[0].x) == ["fold_0", "fold_1", "fold_2", "all folds"]
    assert list(figure.data[0].y) == [4, 1, 1, 6] and list(figure.data[1].y) == [1, 2, 1, 4]


def test_held_out_figure_shows_validation_labels_and_unlabeled_test(small_summary):
    figure = explorer_figures.held_out_figure(small_summary)
    by_name = {trace.name: dict(zip(trace.x, trace.y)) for trace in figure.data}
    external, test = SPLIT_NAMES["validation"], SPLIT_NAMES["test"]
    assert by_name[explorer.class_name("all")] == {external: 1, test: 0}
    assert by_name[explorer.class_name("unlabeled")] == {external: 1, test: 2}


def test_subject_figures(small_index, small_summary):
    subjects = explorer_figures.subjects_figure(small_summary)
    assert list(subjects.data[0].y) == [4, 3]
    rows = explorer.images_per_subject(small_index.records)
    per_subject = explorer_figures.images_per_subject_figure(rows)
    assert [trace.name for trace in per_subject.data] == [explorer.class_name("all"), explorer.class_name("hem")]
    shown = [subject for trace in per_subject.data for subject in trace.x]
    assert sorted(shown) == sorted(row["subject"] for row in rows)
    assert list(per_subject.layout.xaxis.categoryarray) == [row["subject"] for row in rows]


def test_full_size_records_are_summarised_without_touching_files(real_file_records):
    records = real_file_records  # Paths of the file list: no file exists behind them here.
    rows = explorer.images_per_subject(records)
    pages = explorer.page_count(len(explorer.filter_records(records, label="hem")), 12)
    last = explorer.page_items(explorer.filter_records(records, split="fold_2"), 10_000, 12)
    assert sum(row["images"] for row in rows) == 10_661
    assert pages == -(-3389 // 12) and 1 <= len(last) <= 12
    summary = {"images": {f"fold_{n}": {"all": 0, "hem": 0} for n in range(3)}}
    for record in records:
        if record.label:
            summary["images"][record.split][record.label] += 1
    assert explorer.chance_baseline(summary) == pytest.approx(7272 / 10_661)


@pytest.mark.parametrize("held_out_set", ["tuning", "calibration", "external"])
def test_the_trainers_predictions_agree_with_its_model_card(trained_model_path, trained_sidecar, held_out_set):
    """The explorer's mistakes in a real run's predictions CSV are the card's off-diagonal counts."""
    evaluation = trained_sidecar["evaluation"][held_out_set]
    rows = explorer.read_predictions(trained_model_path.parent / evaluation["predictions_csv"])
    assert len(rows) == evaluation["n_images"]
    assert len({row["subject"] for row in rows}) == evaluation["n_subjects"]
    (_, false_alarms), (missed, _) = evaluation["confusion_matrix"]
    assert len(explorer.misclassified(rows, trained_sidecar["threshold"])) == false_alarms + missed
    assert all(Path(row["path"]).is_file() for row in rows)  # absolute paths the explorer can open
