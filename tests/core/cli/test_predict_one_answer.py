"""`python -m core.predict --csv` and `--by-subject --csv` on the demo model: one answer per file, inside its set."""
from __future__ import annotations

import csv

from core import config
from core.cli import predict


def rows_of(path) -> dict[str, dict]:
    return {row["file"]: row for row in csv.DictReader(path.open()) if row.get("level", "cell") == "cell"}


def test_both_modes_give_each_file_the_same_answer_and_refer_exactly_by_the_rule(demo_run, trained_model_path, tmp_path):
    cells = demo_run.data_root / config.DATASET_FOLDER_NAME / "validation_data"
    per_cell, per_subject = tmp_path / "cells.csv", tmp_path / "subjects.csv"
    assert predict.main(["--model", str(trained_model_path), str(cells), "--csv", str(per_cell)]) == 0
    assert predict.main(["--model", str(trained_model_path), "--by-subject", str(cells), "--csv", str(per_subject)]) == 0
    alone, grouped = rows_of(per_cell), rows_of(per_subject)
    assert alone and alone.keys() == grouped.keys()
    for file, row in alone.items():
        assert grouped[file]["answer"] == row["answer"] and grouped[file]["conformal_set"] == row["conformal_set"]
        prediction_set = row["conformal_set"].split("|") if row["conformal_set"] else []
        unfit = "out_of_scope" in row["flags"].split(",") or row["out_of_distribution"] == "yes"
        assert (row["answer"] == "refer") == (len(prediction_set) != 1 or unfit), row
        assert row["answer"] == "refer" or row["answer"] in prediction_set
        assert row["ood_score"] and row["out_of_distribution"] in ("yes", "no")  # the demo model has an index
