"""Tests for core.data.index: the full-size C-NMC tree (placeholder files), bad trees, the CLI."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import pytest

from core.cli.dataset import main
from core.data.index import DatasetIndex, find_dataset_root, index_dataset
from core.data.summary import summarize
from core.data.layout import SPLITS
from core.errors import DatasetError
from paths import FILE_LIST
from requirements import require_file_list

RAM_FOLDER = Path("/dev/shm")
CSV_NAME = "validation_data/C-NMC_test_prelim_phase_data_labels.csv"
CSV_HEADER = "Patient_ID,new_names,labels\n"
SMALL_TREE = (
    "training_data/fold_0/all/UID_1_1_1_all.bmp",
    "training_data/fold_0/all/UID_2_1_1_all.bmp",
    "training_data/fold_0/hem/UID_H1_1_1_hem.bmp",
    "validation_data/C-NMC_test_prelim_phase_data/1.bmp",
    "validation_data/C-NMC_test_prelim_phase_data/2.bmp",
    "testing_data/C-NMC_test_final_phase_data/1.bmp",
    "testing_data/C-NMC_test_final_phase_data/2.bmp",
    "testing_data/C-NMC_test_final_phase_data/10.bmp",
)
SMALL_CSV = CSV_HEADER + "UID_30_1_1_all.bmp,1.bmp,1\nUID_H9_1_1_hem.bmp,2.bmp,0\n"


def make_files(root: Path, relative_paths) -> Path:
    """Create empty placeholder files (and their folders) under `root`; return `root`.

    Plain `os` calls, not pathlib: the full tree has 15,114 files and this keeps it near 0.5 s.
    """
    paths = [os.path.join(root, relative_path) for relative_path in relative_paths]
    for folder in {os.path.dirname(path) for path in paths}:
        os.makedirs(folder, exist_ok=True)
    for path in paths:
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o644))
    return root


def synthetic_labels_csv(count: int) -> str:
    """A labels CSV for validation images 1..count: every third image is hem, with plausible names."""
    rows = []
    for number in range(1, count + 1):
        label = "hem" if number % 3 == 0 else "all"
        subject = f"H{40 + number % 5}" if label == "hem" else f"{80 + number % 10}"
        rows.append(f"UID_{subject}_{number}_1_{label}.bmp,{number}.bmp,{int(label == 'all')}\n")
    return CSV_HEADER + "".join(rows)


@pytest.fixture(scope="session")
def file_list() -> list[str]:
    require_file_list()
    return FILE_LIST.read_text().split()


@pytest.fixture(scope="session")
def full_tree(tmp_path_factory, file_list):
    """The real 15,114-file layout as empty files, plus a synthetic validation labels CSV.

    Built in RAM (/dev/shm) where there is one: on a busy disk 15k file creations take seconds.
    """
    in_memory = RAM_FOLDER.is_dir() and os.access(RAM_FOLDER, os.W_OK)
    if in_memory:
        parent = Path(tempfile.mkdtemp(prefix="cnmc-", dir=RAM_FOLDER))
    else:
        parent = tmp_path_factory.mktemp("full")
    make_files(parent, file_list)
    validation_count = sum("C-NMC_test_prelim_phase_data/" in line for line in file_list)
    (parent / "C-NMC_Leukemia" / CSV_NAME).write_text(synthetic_labels_csv(validation_count))
    yield parent / "C-NMC_Leukemia"
    if in_memory:
        shutil.rmtree(parent)


@pytest.fixture(scope="session")
def full_index(full_tree) -> DatasetIndex:
    return index_dataset(full_tree)


@pytest.fixture
def small_tree(tmp_path) -> Path:
    root = make_files(tmp_path / "C-NMC_Leukemia", SMALL_TREE)
    (root / CSV_NAME).write_text(SMALL_CSV)
    return root


def test_full_tree_counts_match_the_file_list(full_index, file_list):
    summary = summarize(full_index)
    # Lines look like C-NMC_Leukemia/training_data/fold_0/all/UID_1_1_1_all.bmp.
    folder_counts = Counter("/".join(line.split("/")[2:4]) for line in file_list if "/training_data/" in line)
    for fold in ("fold_0", "fold_1", "fold_2"):
        expected = {label: folder_counts[f"{fold}/{label}"] for label in ("all", "hem")}
        assert summary["images"][fold] == expected
    assert sum(summary["images"][fold]["all"] for fold in SPLITS[:3]) == 7272
    assert sum(summary["images"][fold]["hem"] for fold in SPLITS[:3]) == 3389
    assert summary["subjects"] == {"all": 47, "hem": 26}
    assert summary["images"]["validation"] == {"all": 1245, "hem": 622}
    assert summary["images"]["test"] == {"unlabeled": 2586}
    assert summary["warnings"] == []


def test_full_tree_indexes_every_file(full_tree):
    index = index_dataset(full_tree)
    assert len(index.records) == 15114


def test_lower_case_subject_is_normalised(full_index):
    fold_2 = full_index.by_split("fold_2")
    assert {record.subject for record in fold_2 if record.path.name.startswith("UID_h3_")} == {"H3"}
    assert all(record.subject == record.subject.upper() for record in full_index.labelled() if record.subject)


def test_validation_subjects_and_labels_come_from_the_csv(full_index):
    records = full_index.by_split("validation")
    first, third = records[0], records[2]
    assert (first.path.name, first.label, first.subject) == ("1.bmp", "all", "81")
    assert (third.path.name, third.label, third.subject) == ("3.bmp", "hem", "H43")


def test_records_are_sorted_by_split_then_natural_order(small_tree):
    index = index_dataset(small_tree)
    split_positions = [SPLITS.index(record.split) for record in index.records]
    assert split_positions == sorted(split_positions)
    assert [record.path.name for record in index.by_split("test")] == ["1.bmp", "2.bmp", "10.bmp"]
    assert len(index.labelled()) == 5
    assert all(record.label is None for record in index.by_split("test"))
    with pytest.raises(ValueError, match="Unknown split"):
        index.by_split("train")


@pytest.mark.parametrize("relative", [".", "..", "training_data"])
def test_find_dataset_root_accepts_the_folder_its_parent_and_training_data(small_tree, relative):
    assert find_dataset_root((small_tree / relative).resolve()) == small_tree.resolve()


def test_find_dataset_root_rejects_bad_folders(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        find_dataset_root(tmp_path / "missing")
    make_files(tmp_path, ["photos/cat.jpg", "notes.txt"])
    with pytest.raises(DatasetError, match="is a file"):
        find_dataset_root(tmp_path / "notes.txt")
    with pytest.raises(DatasetError, match=r"expected training_data.*found notes.txt, photos"):
        find_dataset_root(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="found nothing"):
        find_dataset_root(tmp_path / "empty")


def test_a_tree_without_images_is_an_error(tmp_path):
    (tmp_path / "training_data" / "fold_0" / "all").mkdir(parents=True)
    with pytest.raises(DatasetError, match="No .bmp images"):
        index_dataset(tmp_path)


def test_stray_files_are_reported_and_not_indexed(small_tree):
    folder = small_tree / "training_data" / "fold_0" / "all"
    make_files(folder, ["Thumbs.db", ".DS_Store", "._UID_1_1_1_all.bmp", "cell.png", "UID_3_1_1_all.BMP"])
    make_files(small_tree, ["README.txt", "training_data/fold_0/all/extra/UID_4_1_1_all.bmp"])
    index = index_dataset(small_tree)
    warnings = "\n".join(index.warnings)
    assert "3 entries skipped, not .bmp images (the dataset is BMP only): cell.png, extra/, Thumbs.db" in warnings
    assert "2 hidden file(s) skipped" in warnings and "README.txt" in warnings
    names = {record.path.name for record in index.records}
    assert "UID_3_1_1_all.BMP" in names and not names & {"Thumbs.db", "cell.png", ".DS_Store"}


def test_empty_and_missing_folders_are_reported(small_tree):
    (small_tree / "training_data" / "fold_1" / "all").mkdir(parents=True)
    warnings = "\n".join(index_dataset(small_tree).warnings)
    assert "fold_1/all: no .bmp images" in warnings
    assert "Missing folder" in warnings and "fold_1/hem" in warnings
    assert "fold_2: the fold_2 split is left out" in warnings


def test_odd_training_names_are_kept_with_a_warning(small_tree):
    make_files(small_tree / "training_data" / "fold_0" / "all", ["scan 7.bmp", "UID_H5_1_1_hem.bmp"])
    index = index_dataset(small_tree)
    records = {record.path.name: record for record in index.records}
    assert (records["scan 7.bmp"].label, records["scan 7.bmp"].subject) == ("all", None)
    assert (records["UID_H5_1_1_hem.bmp"].label, records["UID_H5_1_1_hem.bmp"].subject) == ("all", "H5")
    assert any(warning.endswith("kept with subject unknown: scan 7.bmp.") for warning in index.warnings)
    assert any(warning.endswith("the folder wins: UID_H5_1_1_hem.bmp.") for warning in index.warnings)


BAD_LABEL_CSV = CSV_HEADER + "UID_30_1_1_all.bmp,1.bmp,2\nUID_H9_1_1_hem.bmp,2.bmp,0\n"
BAD_SUBJECT_CSV = CSV_HEADER + "unknown,1.bmp,1\nUID_H9_1_1_hem.bmp,2.bmp,0\n"
DUPLICATE_CSV = SMALL_CSV + "UID_31_1_1_all.bmp,1.bmp,0\n,,1\n"


@pytest.mark.parametrize("csv_text, expected_counts, expected_warning", [
    pytest.param(CSV_HEADER + "UID_30_1_1_all.bmp,1.bmp,1\n", {"all": 1, "hem": 0, "unlabeled": 1},
                 "no CSV row, left unlabeled: 2.bmp", id="image-without-row"),
    pytest.param(SMALL_CSV + "UID_30_2_1_all.bmp,99.bmp,1\n", {"all": 1, "hem": 1},
                 "name missing images: 99.bmp", id="row-without-image"),
    pytest.param("name,label\n1.bmp,1\n", {"unlabeled": 2},
                 "lacks column(s) ['new_names', 'labels']", id="missing-columns"),
    pytest.param(BAD_LABEL_CSV, {"all": 0, "hem": 1, "unlabeled": 1},
                 "line 2 (1.bmp, label '2')", id="label-outside-0-1"),
    pytest.param(BAD_SUBJECT_CSV, {"all": 1, "hem": 1}, "line 2 ('unknown')", id="bad-patient-id"),
    pytest.param(DUPLICATE_CSV, {"all": 1, "hem": 1}, "line 4 (1.bmp, label '0')", id="duplicate-row"),
    pytest.param("new_names,labels\n1.bmp,1\n2.bmp,0\n", {"all": 1, "hem": 1},
                 "no Patient_ID column", id="no-patient-id"),
    pytest.param(b"\xff\xfe\x00\x81binary", {"unlabeled": 2}, "is unreadable", id="binary"),
    pytest.param(None, {"unlabeled": 2}, "No labels CSV", id="no-csv"),
])
def test_csv_problems_are_reported(small_tree, csv_text, expected_counts, expected_warning):
    if csv_text is None:
        (small_tree / CSV_NAME).unlink()
    elif isinstance(csv_text, bytes):
        (small_tree / CSV_NAME).write_bytes(csv_text)
    else:
        (small_tree / CSV_NAME).write_text(csv_text)
    summary = summarize(index_dataset(small_tree))
    assert summary["images"]["validation"] == expected_counts
    assert any(expected_warning in warning for warning in summary["warnings"]), summary["warnings"]


def test_cli_prints_a_table_with_baseline(small_tree, capsys):
    assert main([str(small_tree)]) == 0
    output = capsys.readouterr().out
    assert "fold_0" in output and "Training subjects: 2 all, 1 hem" in output
    assert "baseline accuracy on the training folds: 66.7%" in output


def test_cli_json_is_the_summary(small_tree, capsys):
    assert main([str(small_tree), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == summarize(index_dataset(small_tree))


def test_cli_bad_path_exits_2_with_one_line(tmp_path, capsys):
    assert main([str(tmp_path / "nowhere")]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and "does not exist" in captured.err


def test_cli_on_the_full_tree_reports_the_real_baseline(full_tree, capsys):
    assert main([str(full_tree.parent)]) == 0
    output = capsys.readouterr().out
    assert "Training subjects: 47 all, 26 hem" in output
    assert "baseline accuracy on the training folds: 68.2%" in output  # 7,272 / 10,661
