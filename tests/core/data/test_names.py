"""C-NMC names: `UID_{subject}_{image}_{cell}_{class}` with any image suffix, the healthy-subject H rules, grouping by subject."""
from __future__ import annotations

import csv
from collections import Counter

import pytest

from core import config
from core.data.names import group_by_subject, parse_training_name, subject_of
from paths import REAL_CELLS
from requirements import require

MANIFEST = REAL_CELLS / "manifest.csv"


@pytest.mark.parametrize("name, expected", [
    ("UID_11_3_1_all.bmp", ("11", "all")),
    ("UID_H10_12_2_hem.bmp", ("H10", "hem")),
    ("UID_h3_10_1_hem.bmp", ("H3", "hem")),  # The one lower-case healthy subject of the dataset (fold_2/hem).
    ("UID_5_1_1_ALL.BMP", ("5", "all")),
    ("UID_11_3_1_all.png", ("11", "all")),
    ("UID_H10_12_2_hem.jpg", ("H10", "hem")),
    ("UID_h3_10_1_hem.JPEG", ("H3", "hem")),
    ("UID_51_7_3_all.tif", ("51", "all")),
    ("UID_H24_1_1_hem.TiFf", ("H24", "hem")),
])
def test_a_training_name_is_read_whatever_its_image_suffix(name, expected):
    assert parse_training_name(name) == expected


@pytest.mark.parametrize("name", [
    "1.bmp", "UID_11_3_all.bmp", "UID_11_3_1_blast.bmp", "UID_x_1_1_all.bmp", "UID_HH3_1_1_hem.bmp", "",
    "UID_11_3_1_all", "UID_11_3_1_all.gif", "UID_11_3_1_all.zip", "UID_11_3_1_all.png.txt", "UID_11_3_1_all.bmp.png.",
    "x/UID_11_3_1_all.png",  # A path is not a name: `subject_of` takes paths.
])
def test_other_names_are_refused(name):
    with pytest.raises(ValueError, match="does not match"):
        parse_training_name(name)


def test_every_accepted_image_suffix_is_recognised():
    for suffix in config.ARCHIVE_IMAGE_SUFFIXES:
        assert parse_training_name(f"UID_H7_2_1_hem{suffix.upper()}") == ("H7", "hem")


@pytest.mark.parametrize("name, subject", [
    ("person.zip/cells/UID_h3_2_1_hem.png", "H3"),
    ("C:\\cells\\UID_12_4_1_all.jpg", "12"),
    ("UID_12_4_1_all.bmp", "12"),
    ("cells/UID_12_4_1_all.gif", None),
    ("patient1/cell.png", None),
])
def test_the_subject_of_a_path_is_read_from_its_last_part(name, subject):
    assert subject_of(name) == subject


def test_grouping_keeps_the_order_and_gathers_unnamed_files_under_none():
    files = [("a/UID_H3_1_1_hem.bmp", b"1"), ("UID_12_1_1_all.png", b"2"), ("cell.png", b"3"),
             ("b/UID_h3_2_1_hem.jpg", b"4"), ("UID_12_2_1_all.tiff", b"5")]
    groups = group_by_subject(files, name_of=lambda file: file[0])
    assert list(groups) == ["H3", "12", None]
    assert [data for _, data in groups["H3"]] == [b"1", b"4"]
    assert [data for _, data in groups["12"]] == [b"2", b"5"]
    assert groups[None] == [("cell.png", b"3")]
    assert group_by_subject([]) == {}


def real_cells_manifest() -> dict[str, tuple[str, str]]:
    """{file name: (subject, label)} of shared/data/real_cells, from its manifest."""
    require(MANIFEST.is_file(), f"{MANIFEST} is missing: the shared real cells are expected beside the checkout")
    with MANIFEST.open(newline="") as handle:
        return {row["file"]: (row["subject"], row["label"]) for row in csv.DictReader(handle)}


def test_the_real_cells_saved_as_png_give_their_subjects_and_labels():
    manifest = real_cells_manifest()
    names = sorted(path.name for path in REAL_CELLS.iterdir() if path.suffix.lower() == ".png")
    assert len(names) == len(manifest) == 251
    assert {name: parse_training_name(name) for name in names} == manifest
    groups = group_by_subject(str(REAL_CELLS / name) for name in names)
    assert None not in groups
    assert {subject: len(paths) for subject, paths in groups.items()} == Counter(subject for subject, _ in manifest.values())
    assert len(groups) == 46 and len(groups["H10"]) == 40  # 31 ALL and 15 healthy subjects (its README).
