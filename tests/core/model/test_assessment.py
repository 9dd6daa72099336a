"""The one assessment per image and its qualifying sentences, rendered by every core surface alike."""
from __future__ import annotations

import csv

import numpy as np
import pytest

from core.cli.predict import FileResult, write_csv
from core.data import labels
from core.data.sides import REAL_CELLS, SEEN_IN_TRAINING, SIDE_NAMES
from core.data.synthetic_cells import make_subject_style, render_cell
from core.imaging.preprocess import preprocess_cell
from core.model.analysis import CellAnalysis
from core.model.assessment import (
    CONFORMAL_REFER_SENTENCE,
    DEMO_SENTENCE,
    ORIENTATION_SENTENCE,
    REAL_CELL_ON_DEMO_SENTENCE,
    REFER_OUT_OF_SCOPE,
    SEEN_IN_TRAINING_SENTENCE,
    assess,
    answer_text,
    flags,
    qualifications,
    views_disagree,
)
from core.model.calibration import Calibration
from core.model.evidence import ModelEvidence
from core.model.inference import Prediction
from core.reporting.html_report import build_report

RISKY_SENTENCES = (DEMO_SENTENCE, REFER_OUT_OF_SCOPE, ORIENTATION_SENTENCE)


@pytest.fixture(scope="module")
def image_rgb() -> np.ndarray:
    rng = np.random.default_rng(5)
    return render_cell(rng, "hem", make_subject_style(rng, "hem"), 128)


def analysis(image_rgb, label="hem", probability=0.72, tta_mean=0.95, scope=()) -> CellAnalysis:
    prediction = Prediction(label, probability, 0.84, tta_mean, None if tta_mean is None else 0.05)
    return CellAnalysis(prediction, preprocess_cell(image_rgb, 64), tuple(scope))


@pytest.fixture(scope="module")
def risky(image_rgb):
    """A demo model's answer on an out-of-scope image whose 8 views disagree."""
    return assess(analysis(image_rgb, scope=("The background is not dark.",)), {"is_demo": True})


@pytest.mark.parametrize(("label", "probability", "tta_mean", "disagree"), [
    ("hem", 0.72, 0.95, True), ("all", 0.90, 0.60, True), ("all", 0.90, 0.88, False), ("hem", 0.10, None, False),
])
def test_views_disagree_when_the_tta_mean_crosses_the_threshold(label, probability, tta_mean, disagree):
    prediction = Prediction(label, probability, 0.84, tta_mean, None if tta_mean is None else 0.05)
    assert views_disagree(prediction) is disagree


def test_a_plain_answer_has_no_qualification(image_rgb):
    found = assess(analysis(image_rgb, "all", 0.9, 0.91), {"is_demo": False}, SIDE_NAMES["validation"])
    assert found.answer == labels.ALL and found.label == labels.ALL
    assert answer_text(found) == labels.DISPLAY_NAMES[labels.ALL]
    assert qualifications(found) == () and flags(found) == ()
    # The optional evidence stays empty until calibration and the embedding index exist.
    assert found.probability_all_calibrated is None and found.conformal_decision is None
    assert found.ood_score is None and found.ood_flag is None and found.similar_cells == ()


def test_the_risky_answer_is_referred_and_says_every_limit(risky):
    assert risky.answer == labels.REFER and risky.label == labels.HEM and risky.probability_all == 0.72
    assert answer_text(risky) == REFER_OUT_OF_SCOPE
    sentences = qualifications(risky)
    assert sentences[0] == DEMO_SENTENCE
    for sentence in RISKY_SENTENCES:
        assert any(sentence in text for text in sentences)
    assert flags(risky) == ("demo_model", "out_of_scope", "orientation_unstable")


def test_samples_say_their_side(image_rgb):
    seen = assess(analysis(image_rgb, "all", 0.9, 0.9), {}, SEEN_IN_TRAINING)
    assert qualifications(seen) == (SEEN_IN_TRAINING_SENTENCE,)
    real = assess(analysis(image_rgb, "all", 0.9, 0.9), {"is_demo": True}, REAL_CELLS)
    assert qualifications(real) == (DEMO_SENTENCE, REAL_CELL_ON_DEMO_SENTENCE)


def calibrated(all_threshold: float, hem_threshold: float) -> ModelEvidence:
    """A model whose conformal thresholds at 5% are about these (100 scores per class, T = 1)."""
    scores = {labels.ALL: np.linspace(0.0, all_threshold / 0.96, 100), labels.HEM: np.linspace(0.0, hem_threshold / 0.96, 100)}
    return ModelEvidence(calibration=Calibration(1.0, scores))


@pytest.mark.parametrize(("probability", "thresholds", "answer", "prediction_set", "flag"), [
    # The set holds ALL only while the threshold (0.84) says Healthy: the set decides, the threshold is secondary.
    (0.60, (0.5, 0.3), labels.ALL, (labels.ALL,), "threshold_differs"),
    # The set holds Healthy only while the threshold says ALL.
    (0.88, (0.05, 0.95), labels.HEM, (labels.HEM,), "threshold_differs"),
    (0.60, (0.5, 0.7), labels.REFER, (labels.ALL, labels.HEM), "conformal_refer"),
    (0.50, (0.3, 0.3), labels.REFER, (), "conformal_empty"),
])
def test_the_prediction_set_decides_the_answer(image_rgb, probability, thresholds, answer, prediction_set, flag):
    label = labels.label_for(probability, 0.84)
    found = assess(analysis(image_rgb, label, probability, probability), {}, evidence=calibrated(*thresholds), error_rate=0.05)
    assert found.prediction_set == prediction_set and found.answer == answer
    assert found.answer == labels.REFER or found.answer in found.prediction_set
    assert found.label == label and flag in flags(found)


def test_a_conformal_refer_is_said(image_rgb):
    found = assess(analysis(image_rgb, "all", 0.9, 0.9), {}, evidence=calibrated(0.5, 0.95), error_rate=0.05)
    assert found.answer == labels.REFER and found.refer_reasons == ("both_plausible",)
    assert CONFORMAL_REFER_SENTENCE in qualifications(found)


def test_an_out_of_scope_cell_is_referred_even_when_its_set_is_one_class(image_rgb):
    found = assess(analysis(image_rgb, "all", 0.9, 0.9, scope=("The background is not dark.",)), {},
                   evidence=calibrated(0.5, 0.3), error_rate=0.05)
    assert found.prediction_set == (labels.ALL,) and found.answer == labels.REFER
    assert found.refer_reasons == ("out_of_scope",) and answer_text(found) == REFER_OUT_OF_SCOPE


def test_the_report_says_the_risky_limits_at_the_top_and_beside_the_answer(image_rgb, risky):
    report = build_report("risky.png", image_rgb, analysis(image_rgb), {"is_demo": True}, "ab" * 32, assessment=risky)
    assert report.index(DEMO_SENTENCE) < report.index("<h2>Answer")
    answer_part = report[report.index("<h2>Answer"):]
    assert REFER_OUT_OF_SCOPE in answer_part
    for sentence in RISKY_SENTENCES:
        assert sentence.replace("'", "&#x27;") in answer_part


def test_the_command_line_says_the_risky_limits(risky, tmp_path):
    result = FileResult("risky.png", risky)
    assert result.line().split("\t") == ["risky.png", "hem", "0.7200", "refer", "demo_model,out_of_scope,orientation_unstable"]
    write_csv(tmp_path / "out.csv", [result])
    (row,) = csv.DictReader((tmp_path / "out.csv").open())
    assert list(row) == ["file", "label", "probability_all", "answer", "conformal_set", "ood_score", "out_of_distribution",
                         "flags", "qualifications", "error", "field", "box", "stain"]
    assert row["answer"] == "refer" and row["flags"] == "demo_model,out_of_scope,orientation_unstable"
    # Without conformal scores or an index those columns stay blank.
    assert row["conformal_set"] == row["ood_score"] == row["out_of_distribution"] == ""
    for sentence in RISKY_SENTENCES:
        assert sentence in row["qualifications"]
