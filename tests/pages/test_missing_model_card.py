"""A model without its sidecar, or with one that records no threshold, is used with a notice on every surface.

The notice says the threshold and metrics are unknown: the sidebar, Classify's answer, the table and
its CSV, the HTML report, Explain's headline, the Model card, and `python -m core.predict`'s flags.
"""
from __future__ import annotations

import csv
import io
import json

import pandas as pd
import pytest
from apptest_helpers import open_app, texts, upload
from model_files import install_model

from core import config
from core.cli import predict
from core.model.assessment import NO_MODEL_CARD_SENTENCE
from core.model.sidecar_schema import CARD_UNKNOWN_KEY
from core.model.store import load_classifier


@pytest.fixture(scope="module")
def cell(synthetic_data_root):
    return next((synthetic_data_root / "training_data").rglob("*.bmp"))


@pytest.fixture
def bare_model(tiny_model_path, tmp_path):
    return install_model(tiny_model_path, tmp_path / "models", sidecar=None)


@pytest.mark.slow
def test_a_sidecar_without_a_threshold_counts_as_missing(tiny_model_path, tmp_path):
    metadata = json.loads(config.sidecar_path(tiny_model_path).read_text())
    del metadata["threshold"]
    loaded = load_classifier(install_model(tiny_model_path, tmp_path, metadata))
    assert loaded.metadata[CARD_UNKNOWN_KEY] and "records no threshold" in loaded.warnings[0]
    assert CARD_UNKNOWN_KEY not in load_classifier(tiny_model_path).metadata


def test_core_predict_flags_every_line_and_csv_row(bare_model, cell, tmp_path, capsys):
    assert predict.main(["--model", str(bare_model), str(cell), "--csv", str(tmp_path / "out.csv")]) == 0
    line = capsys.readouterr().out.strip()
    assert line.split("\t")[-1].split(",")[0] == "no_model_card"
    row = next(csv.DictReader((tmp_path / "out.csv").open()))
    assert NO_MODEL_CARD_SENTENCE in row["qualifications"]


@pytest.mark.slow
def test_every_app_surface_says_the_threshold_is_unknown(monkeypatch, bare_model, cell, synthetic_data_root):
    from ui import cache, classify_widgets, result_widgets

    monkeypatch.setenv("LEUKEMIA_MODEL", str(bare_model))
    monkeypatch.setenv("LEUKEMIA_DATA_DIR", str(synthetic_data_root))
    app = upload(open_app(), [("cell.bmp", cell.read_bytes())])
    assert not app.exception
    assert any("threshold and metrics are unknown" in text for text in texts(app.sidebar.caption)), "the sidebar"
    assert NO_MODEL_CARD_SENTENCE in " ".join(texts(app.warning)), "Classify's answer"
    assert NO_MODEL_CARD_SENTENCE in app.dataframe[0].value["limits"][0], "the results table"
    classifier = cache.get_classifier()
    outcome = classify_widgets.process_upload("cell.bmp", cell.read_bytes(), classifier)
    table = pd.read_csv(io.BytesIO(classify_widgets.csv_bytes(classify_widgets.results_table([outcome]))))
    assert NO_MODEL_CARD_SENTENCE in table["limits"][0], "the CSV"
    report = result_widgets.report_maker(outcome, classifier, None)().replace("&#x27;", "'")
    assert NO_MODEL_CARD_SENTENCE in report, "the report"
    app.switch_page("app_pages/explain.py").run()
    assert NO_MODEL_CARD_SENTENCE in " ".join(texts(app.warning)), "Explain"
    app.switch_page("app_pages/model.py").run()
    assert any("No metadata file" in text for text in texts(app.warning)), "the Model card"
