"""Sides of a model's training in words, from the split CSV beside the model, and the samples offered."""
from __future__ import annotations

import csv
from pathlib import Path

from core.data.index import ImageRecord
from core.data.sides import (
    HELD_OUT_SUBJECTS,
    OFFER_ORDER,
    REAL_CELLS,
    ROLE_NAMES,
    SEEN_IN_TRAINING,
    SIDE_NAMES,
    SplitSides,
    held_out_subjects,
    offered_samples,
    real_cell_samples,
    split_csv_path,
)


def records(root: Path) -> list[ImageRecord]:
    made = []
    for split, subject in (("fold_0", "1"), ("fold_0", "2"), ("fold_1", "3"), ("validation", None)):
        for label in ("all", "hem"):
            for number in range(4):
                made.append(ImageRecord(root / split / label / f"UID_{subject}_{number}_{label}.bmp", split, label, subject))
    return made


def write_split(model_path: Path, root: Path, sides: dict[str, str]) -> None:
    with open(split_csv_path(model_path), "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "subject", "label", "side"])
        for record in records(root):
            if record.subject in sides:
                writer.writerow([record.path.relative_to(root), record.subject, record.label, sides[record.subject]])


def test_split_csv_sides_are_read_and_held_out_comes_first(tmp_path):
    root = tmp_path / "C-NMC_Leukemia"
    model = tmp_path / "models" / "m.keras"
    model.parent.mkdir()
    write_split(model, root, {"1": "train", "2": "validation", "3": "train"})
    sides = SplitSides.load(model)
    assert sides.side_of(root / "fold_0" / "all" / "UID_2_0_all.bmp") == SIDE_NAMES["validation"]
    assert sides.side_of(Path("elsewhere") / "fold_0" / "hem" / "UID_1_3_hem.bmp") == SEEN_IN_TRAINING
    offered = offered_samples(records(root), sides, per_group=2)
    order = [sample.side for sample in offered]
    assert order[0] == SIDE_NAMES["validation"] and order[-1] == SEEN_IN_TRAINING
    assert SIDE_NAMES["external"] in order  # The validation folder, not in the CSV, falls back to its folder.
    assert order == sorted(order, key=OFFER_ORDER.index)


def test_tuning_and_calibration_read_as_held_out_subjects_and_keep_their_role(tmp_path):
    """The split CSV's roles: both held-out roles are "held-out subjects" to a reader; the role stays readable."""
    root = tmp_path / "C-NMC_Leukemia"
    model = tmp_path / "m.keras"
    write_split(model, root, {"1": "train", "2": "tuning", "3": "calibration"})
    sides = SplitSides.load(model)
    tuning, calibration = root / "fold_0" / "all" / "UID_2_0_all.bmp", root / "fold_1" / "hem" / "UID_3_1_hem.bmp"
    assert sides.side_of(tuning) == sides.side_of(calibration) == SIDE_NAMES["validation"] == HELD_OUT_SUBJECTS
    assert (sides.role_of(tuning), sides.role_of(calibration)) == ("tuning", "calibration")
    assert sides.role_of(root / "fold_0" / "all" / "UID_1_0_all.bmp") == "train" and sides.role_of(root / "x.bmp") is None
    one_label = [record for record in records(root) if (record.subject, record.label) in {("1", "all"), ("2", "all"), ("3", "hem")}]
    found = held_out_subjects(one_label, sides)
    assert [(cells.subject, cells.side, cells.role) for cells in found] == [
        ("2", HELD_OUT_SUBJECTS, "tuning"), ("3", HELD_OUT_SUBJECTS, "calibration")]
    assert {ROLE_NAMES[cells.role] for cells in found} == {"tuning subjects", "calibration subjects"}


def test_without_a_split_csv_the_folder_names_the_side(tmp_path):
    assert SplitSides.load(tmp_path / "none.keras") is None
    sides = {sample.side for sample in offered_samples(records(tmp_path), None)}
    assert sides == {SIDE_NAMES["external"], "fold_0 folder", "fold_1 folder"}


def test_the_shipped_real_cells_are_labelled_samples():
    samples = real_cell_samples()
    assert 12 <= len(samples) <= 24
    assert {sample.label for sample in samples} == {"all", "hem"}
    assert all(sample.side == REAL_CELLS and sample.path.is_file() for sample in samples)
    assert "CC BY 3.0" in (samples[0].path.parent / "README.md").read_text()


def test_a_real_cell_listed_in_the_split_csv_takes_its_side(tmp_path):
    real = real_cell_samples()[0]
    model = tmp_path / "m.keras"
    with open(split_csv_path(model), "w", newline="") as handle:
        csv.writer(handle).writerows([["path", "subject", "label", "side"],
                                      [f"training_data/fold_0/{real.label}/{real.path.stem}.bmp", "1", real.label, "train"]])
    offered = offered_samples([], SplitSides.load(model), extra=real_cell_samples())
    moved = next(sample for sample in offered if sample.path == real.path)
    assert moved.side == SEEN_IN_TRAINING and moved.source == REAL_CELLS
    assert offered[-1] == moved, "what the model saw in training is offered last"


def test_held_out_subjects_of_an_older_split_csv_are_its_validation_side_then_the_external_set(tmp_path):
    root = tmp_path / "C-NMC_Leukemia"
    cells = [ImageRecord(root / "fold_0" / label / f"UID_{subject}_{n}_1_{label}.bmp", "fold_0", label, subject)
             for subject, label in (("H1", "hem"), ("H2", "hem"), ("10", "all"), ("9", "all")) for n in range(3)]
    cells += [ImageRecord(root / "validation_data" / f"{n}.bmp", "validation", "all", "7") for n in range(2)]
    cells += [ImageRecord(root / "validation_data" / "x.bmp", "validation", None, "8")]  # Unlabelled: left out.
    model = tmp_path / "m.keras"
    with open(split_csv_path(model), "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "subject", "label", "side"])
        for cell in cells[:12]:
            writer.writerow([cell.path.relative_to(root), cell.subject, cell.label,
                             "validation" if cell.subject in ("H2", "10", "9") else "train"])
    found = held_out_subjects(cells, SplitSides.load(model))
    assert [(s.subject, s.label, s.side) for s in found] == [
        ("9", "all", SIDE_NAMES["validation"]), ("10", "all", SIDE_NAMES["validation"]),
        ("H2", "hem", SIDE_NAMES["validation"]), ("7", "all", SIDE_NAMES["external"])]
    assert [s.role for s in found] == ["validation", "validation", "validation", "external"]
    assert len(found[0].paths) == 3 and all(path.is_relative_to(root) for path in found[0].paths)
    # Without a split CSV only the external set is known to be held out.
    assert [s.subject for s in held_out_subjects(cells, None)] == ["7"]


def test_a_synthetic_split_never_names_the_side_of_a_real_cell(tmp_path):
    """The demo's synthetic names copy C-NMC's: its split CSV may list a stem a shipped real cell has too."""
    real = real_cell_samples()[0]
    model = tmp_path / "m.keras"
    with open(split_csv_path(model), "w", newline="") as handle:
        csv.writer(handle).writerows([["path", "subject", "label", "side"],
                                      [f"training_data/fold_0/{real.label}/{real.path.stem}.bmp", "1", real.label, "train"]])
    offered = offered_samples([], SplitSides.load(model, synthetic=True), extra=real_cell_samples())
    assert next(sample for sample in offered if sample.path == real.path).side == REAL_CELLS
