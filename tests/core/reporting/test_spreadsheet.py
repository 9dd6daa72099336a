"""Cells a spreadsheet would run as formulas get a leading quote, in the app's CSV and in core.predict's."""
import csv
import io

import pandas as pd
import pytest

from core.cli import predict
from core.reporting.spreadsheet import safe_cell

FORMULAS = ["=1+1", "+SUM(1+1).png", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


@pytest.mark.parametrize("text", FORMULAS)
def test_a_formula_start_gets_a_leading_quote(text):
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["cell.png", "a=b", "", None, 0.5, -1.0, True])
def test_other_values_are_unchanged(value):
    assert safe_cell(value) == value


def test_the_apps_csv_protects_every_text_column():
    from ui.classify_widgets import csv_bytes

    table = pd.DataFrame([{"file": "+SUM(1+1).png", "answer": "=A1", "limits": "-bad", "P(ALL)": -0.5,
                           "error": "@cmd could not be read"}])
    row = next(csv.DictReader(io.StringIO(csv_bytes(table).decode())))
    assert row == {"file": "'+SUM(1+1).png", "answer": "'=A1", "limits": "'-bad", "P(ALL)": "-0.5",
                   "error": "'@cmd could not be read"}


def test_core_predict_csv_protects_its_cells(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    results = [predict.FileResult("=HYPERLINK(1).bmp", error="-unreadable"), predict.FileResult("cell.bmp", error="x")]
    predict.write_csv(tmp_path / "out.csv", results)
    rows = list(csv.reader((tmp_path / "out.csv").open()))
    error = rows[0].index("error")
    assert rows[1][0] == "'=HYPERLINK(1).bmp" and rows[1][error] == "'-unreadable"
    assert rows[2][0] == "cell.bmp" and rows[2][error] == "x"
