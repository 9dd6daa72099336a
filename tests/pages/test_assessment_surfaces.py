"""One risky answer (demo model, out of scope, orientation-unstable) qualified alike on every app surface.

The model is the tiny one with a demo sidecar; the image a grayscale copy of a shipped real cell (out of
scope: no stain colour); and the 8 views are made to disagree by patching `views_disagree`, which AppTest,
running the script in this process, picks up.
"""
from __future__ import annotations

import io

import cv2
import pandas as pd
import pytest
from apptest_helpers import open_app, png_bytes, texts, upload
from model_files import install_model

from core.data.sides import REAL_CELLS, real_cell_samples
from core.imaging.decode import load_image
from core.model import assessment
from core.model.assessment import DEMO_SENTENCE, ORIENTATION_SENTENCE, REAL_CELL_ON_DEMO_SENTENCE, REFER_OUT_OF_SCOPE

RISKY_SENTENCES = (DEMO_SENTENCE, REFER_OUT_OF_SCOPE, ORIENTATION_SENTENCE)


@pytest.fixture(scope="module")
def gray_cell_png() -> bytes:
    image_rgb = load_image(real_cell_samples()[0].path).image_rgb
    return png_bytes(cv2.cvtColor(cv2.cvtColor(image_rgb, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB))


@pytest.fixture
def demo_app(monkeypatch, tmp_path, tiny_model_path, synthetic_data_root):
    from core.model.store import base_metadata

    model_path = install_model(tiny_model_path, tmp_path / "models", {**base_metadata(64), "is_demo": True})
    monkeypatch.setenv("LEUKEMIA_MODEL", str(model_path))
    monkeypatch.setenv("LEUKEMIA_DATA_DIR", str(synthetic_data_root))
    monkeypatch.setattr(assessment, "views_disagree", lambda prediction: True)
    at = open_app()
    assert not at.exception
    return at


def says_all(text: str) -> bool:
    return all(sentence in text for sentence in RISKY_SENTENCES)


@pytest.mark.slow
def test_every_surface_qualifies_the_risky_answer(demo_app, gray_cell_png):
    from ui import cache, classify_widgets, result_widgets

    at = upload(demo_app, [("gray_cell.png", gray_cell_png)])
    assert not at.exception
    assert texts(at.subheader)[-1] == f"gray_cell.png: {REFER_OUT_OF_SCOPE}"
    assert says_all(" ".join(texts(at.warning))), "the detail view"
    assert "P(ALL)" not in [metric.label for metric in at.metric]
    table = at.dataframe[0].value
    assert says_all(table["answer"][0] + " " + table["limits"][0]), "the results table"
    classifier = cache.get_classifier()
    outcome = classify_widgets.process_upload("gray_cell.png", gray_cell_png, classifier)
    csv_table = pd.read_csv(io.BytesIO(classify_widgets.csv_bytes(classify_widgets.results_table([outcome]))))
    assert says_all(csv_table["answer"][0] + " " + csv_table["limits"][0]), "the CSV"
    report = result_widgets.report_maker(outcome, classifier, None)().replace("&#x27;", "'")
    assert says_all(report) and report.index(DEMO_SENTENCE) < report.index("<h2>Answer"), "the report"
    at.switch_page("app_pages/explain.py").run()
    assert not at.exception
    assert texts(at.subheader)[0] == f"gray_cell.png: {REFER_OUT_OF_SCOPE}"
    assert says_all(" ".join(texts(at.subheader) + texts(at.warning))), "Explain's headline"


@pytest.mark.slow
def test_a_real_sample_on_the_demo_model_says_it_is_unlike_what_the_model_learned(demo_app):
    picker = demo_app.multiselect(key="classify_samples")
    real = [option for option in picker.options if REAL_CELLS in option]
    assert real, "the shipped real cells are offered"
    picker.set_value(real[:1]).run()
    assert not demo_app.exception
    warnings = " ".join(texts(demo_app.warning))
    assert DEMO_SENTENCE in warnings and REAL_CELL_ON_DEMO_SENTENCE in warnings
    assert f"Sample: {REAL_CELLS}." in texts(demo_app.caption)
