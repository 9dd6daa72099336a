"""python -m core.predict --by-subject: subjects from C-NMC names or folders, one line each, errors on their own line."""
import csv
import re
import shutil

from core.cli import predict, predict_subjects
from core.subjects import rules
from core.subjects.summary import DEMO_SUBJECT_SENTENCE, NO_CELLS_SENTENCE
from paths import REAL_CELLS
from requirements import require

SUBJECT_LINE = re.compile(r"[^\t]+\t(all|hem)\t[01]\.\d{4}\t[01]\.\d{4}-[01]\.\d{4}\tused=\d+,referred=\d+,out_of_scope=\d+\t(-|[a-z_]+(,[a-z_]+)*)")


def test_subjects_come_from_cnmc_names_else_from_folders():
    paths = ["a/UID_H3_1_2_hem.bmp", "b/UID_12_4_1_all.bmp", "x/patient1/cell.png", "y/cells/1.png", "z/cells/2.png", "3.png"]
    assert predict_subjects.subject_names(paths) == ["H3", "12", "patient1", "y/cells", "z/cells", "."]


def test_real_cells_saved_as_png_in_one_folder_keep_their_own_subjects():
    paths = sorted(str(path) for path in REAL_CELLS.glob("UID_*.png"))
    require(len(paths) == 251, f"{REAL_CELLS} should hold the 251 shared real cells")
    subjects = predict_subjects.subject_names(paths)
    assert REAL_CELLS.name not in subjects  # Not one person named after the folder: 46 C-NMC subjects.
    assert len(set(subjects)) == 46 and subjects.count("H10") == 40


def test_one_line_per_subject_and_bad_files_keep_their_own(tiny_model_path, synthetic_data_root, tmp_path, capsys):
    cells = sorted((synthetic_data_root / "training_data").rglob("*.bmp"))
    folder = tmp_path / "patient_a"
    folder.mkdir()
    for index, cell in enumerate(cells[:2]):  # Renamed: their subject is now their folder.
        shutil.copy(cell, folder / f"cell{index}.bmp")
    (folder / "broken.png").write_text("not an image")
    output_csv = tmp_path / "out.csv"
    code = predict.main(["--model", str(tiny_model_path), "--by-subject", str(folder), *map(str, cells[:6]), "--csv", str(output_csv)])
    lines = capsys.readouterr().out.strip().splitlines()
    subjects = list(dict.fromkeys(["patient_a", *predict_subjects.subject_names(list(map(str, cells[:6])))]))
    assert code == 1
    assert lines[0].startswith(f"{folder / 'broken.png'}\tERROR\t'broken.png' is not in an accepted format.")
    assert [line.split("\t")[0] for line in lines[1:]] == subjects
    assert all(SUBJECT_LINE.fullmatch(line) for line in lines[1:]), lines
    assert sum(map(int, re.findall(r"=(\d+)", lines[1]))) == 2  # The folder's two good cells; the broken file counts for none.
    rows = list(csv.DictReader(output_csv.open()))
    assert [row["level"] for row in rows] == ["cell"] * 9 + ["subject"] * len(subjects)
    assert [row["subject"] for row in rows if row["level"] == "subject"] == subjects
    assert next(row for row in rows if row["file"].endswith("broken.png"))["error"]
    patient_row = next(row for row in rows if row["level"] == "subject" and row["subject"] == "patient_a")
    used = int(patient_row["cells_used"]) + int(patient_row["cells_referred"]) + int(patient_row["cells_out_of_scope"])
    assert used == 2 and float(patient_row["interval_low"]) <= float(patient_row["score"]) <= float(patient_row["interval_high"])


def test_a_subject_without_usable_cells_reads_refer_with_dashes():
    answer = rules.SubjectAnswer("H3", "refer", None, None, 0.5, rules.DEFAULT_RULE, 0, 1, 2)
    assert predict_subjects.subject_line(answer) == "H3\trefer\t-\t-\tused=0,referred=1,out_of_scope=2\tno_usable_cell,cells_left_out"
    row = dict(zip(["level", "subject", *predict.CSV_COLUMNS, *predict_subjects.SUBJECT_COLUMNS],
                   predict_subjects.subject_row(answer, predict.CSV_COLUMNS, is_demo=True)))
    assert (row["level"], row["subject"], row["answer"]) == ("subject", "H3", "refer")
    assert row["flags"] == "demo_model,no_usable_cell,cells_left_out"
    assert DEMO_SUBJECT_SENTENCE in row["qualifications"] and NO_CELLS_SENTENCE in row["qualifications"]
    assert [row[column] for column in predict_subjects.SUBJECT_COLUMNS] == ["", "", "", "0", "1", "2"]


def test_a_folder_of_several_subjects_is_said(tmp_path):
    folder = tmp_path / "cells"
    paths = [str(folder / name) for name in ("UID_11_1_1_all.png", "UID_h3_2_1_hem.bmp", "other.png")]
    (note,) = predict_subjects.mixed_folder_notes(paths)
    assert "2 C-NMC subjects (11, H3)" in note and str(folder) in note
    assert predict_subjects.mixed_folder_notes(paths[:1] + paths[2:]) == []
