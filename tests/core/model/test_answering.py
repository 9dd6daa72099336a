"""One answer per cell on every path: Classify, the Patient page's bfloat16 batches and the command line agree.

The decision boundaries (the threshold, both conformal thresholds, the OOD threshold) are placed on
purpose between a cell's bfloat16 (or batched float32) value and its value run alone in float32,
so a path that decided on its own values would answer that cell differently from another path.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from core.cli import predict_subjects
from core.cli.predict import classify_files
from core.data import labels
from core.imaging.decode import load_image
from core.imaging.preprocess import preprocess_cell
from core.imaging.scope import assess_scope
from core.model import answering
from core.model.analysis import BATCHED, EXACT, FAST, analyze_cell
from core.model.assessment import assess
from core.model.calibration import Calibration, logit
from core.model.embedding import EmbeddingIndex
from core.model.evidence import ModelEvidence
from core.model.inference import Classifier, dihedral_views
from core.model.store import load_classifier
from core.subjects.cells import assess_subject_cells

ERROR_RATE = 0.05
SCORES = 100  # per class; at 5% the conformal threshold is the 96th smallest


def sigmoid(value: float) -> float:
    return float(1.0 / (1.0 + np.exp(-value)))


@pytest.fixture(scope="module")
def cell_paths(synthetic_data_root) -> list[Path]:
    return sorted(synthetic_data_root.rglob("*.bmp"))[:16]


@pytest.fixture(scope="module")
def model_inputs(cell_paths, tiny_model_path) -> np.ndarray:
    size = load_classifier(tiny_model_path).image_size
    return np.stack([preprocess_cell(load_image(path).image_rgb, size).model_input for path in cell_paths])


def classifier_for(loaded, precision: str, monkeypatch, evidence=None, threshold: float | None = None) -> Classifier:
    """A Classifier of `loaded` whose batches run in `precision`, with the given evidence and threshold."""
    monkeypatch.setenv("LEUKEMIA_BATCH_PRECISION", precision)
    if threshold is not None:
        loaded = dataclasses.replace(loaded, metadata={**loaded.metadata, "threshold": threshold})
    classifier = Classifier(loaded)
    if evidence is not None:
        classifier.evidence = evidence
    return classifier


def alone(classifier: Classifier, model_inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """((N, D) features, (N,) P(all)) of each input run alone in float32, by the paired pass a model with an index uses."""
    rows = [classifier.features_and_probabilities(model_input[None], batch_size=1) for model_input in model_inputs]
    return np.concatenate([features for features, _ in rows]), np.concatenate([probabilities for _, probabilities in rows])


def placed_evidence(exact_logits, other_logits, exact_features, other_features):
    """(threshold, evidence): each boundary midway between one cell's exact value and its value computed otherwise.

    The four cells whose values moved most get the threshold, the ALL and the Healthy conformal
    boundaries, and the OOD threshold. The index holds every cell's exact features as training cells.
    """
    index = EmbeddingIndex.build(exact_features, [f"cell{row}.bmp" for row in range(len(exact_features))],
                                 [labels.ALL] * len(exact_features), ["S1"] * len(exact_features), ["train"] * len(exact_features))
    exact_ood = np.asarray([index.ood_score(row) for row in exact_features])
    other_ood = np.asarray([index.ood_score(row) for row in other_features])
    order = list(np.argsort(-np.abs(other_logits - exact_logits)))
    cells = order[:3]
    ood_cell = int(np.argmax(np.abs(other_ood - exact_ood)))
    middle = [(exact_logits[cell] + other_logits[cell]) / 2 for cell in cells]
    # T = 1: ALL is in the set while logit >= logit(1 - t_all), Healthy while logit <= logit(t_hem).
    scores = {labels.ALL: np.full(SCORES, 1.0 - sigmoid(middle[1])), labels.HEM: np.full(SCORES, sigmoid(middle[2]))}
    evidence = ModelEvidence(calibration=Calibration(1.0, scores), index=index,
                             ood_threshold=float((exact_ood[ood_cell] + other_ood[ood_cell]) / 2))
    return sigmoid(middle[0]), evidence, [*cells, ood_cell]


def answers_on_every_path(loaded, threshold, evidence, cell_paths, monkeypatch) -> dict[str, list]:
    """{path name: [(answer, prediction set, refer reasons, OOD flag, threshold's label) per cell]}."""
    float32 = classifier_for(loaded, "float32", monkeypatch, evidence, threshold)
    fast = classifier_for(loaded, "bfloat16", monkeypatch, evidence, threshold)
    images = [load_image(path).image_rgb for path in cell_paths]

    def summary(assessment):
        return (assessment.answer, assessment.prediction_set, assessment.refer_reasons, assessment.ood_flag, assessment.label)

    files = [(path.name, f"{row:064x}", path.read_bytes()) for row, path in enumerate(cell_paths)]
    command_line = classify_files(float32, cell_paths, error_rate=ERROR_RATE)
    return {
        "classify (8 views)": [summary(answering.answer_analysis(float32, analyze_cell(float32, image), ERROR_RATE)[1])
                               for image in images],
        "explain (one view)": [summary(answering.answer_analysis(float32, analyze_cell(float32, image, with_tta=False),
                                                                 ERROR_RATE)[1]) for image in images],
        "patient (bfloat16 batches)": [summary(cell.assessment) for cell in
                                       assess_subject_cells(fast, files, error_rate=ERROR_RATE, batch_size=8)],
        "core.predict": [summary(result.assessment) for result in command_line],
        "core.predict --tta": [summary(result.assessment) for result in
                               classify_files(float32, cell_paths, with_tta=True, error_rate=ERROR_RATE)],
        "answer_cells (float32 batches)": [summary(assessment) for _, assessment in answering.answer_cells(
            float32, [answering.PreparedCell(preprocess_cell(image, float32.image_size),
                                             tuple(assess_scope(image, preprocess_cell(image, float32.image_size))))
                      for image in images], ERROR_RATE)],
    }


@pytest.mark.slow
def test_every_path_gives_the_same_answers_at_boundaries_placed_between_bfloat16_and_float32(
        tiny_model_path, model_inputs, cell_paths, monkeypatch):
    loaded = load_classifier(tiny_model_path)
    exact_features, exact = alone(classifier_for(loaded, "float32", monkeypatch), model_inputs)
    fast_features, fast = classifier_for(loaded, "bfloat16", monkeypatch).features_and_probabilities(model_inputs, 8, fast=True)
    exact_logits, fast_logits = np.asarray(logit(exact)), np.asarray(logit(fast))
    assert np.max(np.abs(fast_logits - exact_logits)) > 1e-4, "bfloat16 must move the values for this test to mean anything"
    threshold, evidence, placed = placed_evidence(exact_logits, fast_logits, exact_features, fast_features)

    paths = answers_on_every_path(loaded, threshold, evidence, cell_paths, monkeypatch)
    reference = paths["classify (8 views)"]
    for name, answers in paths.items():
        assert answers == reference, f"{name} answers differently from Classify"
    # Deciding on the bfloat16 values themselves would have answered some placed cell differently.
    fast_classifier = classifier_for(loaded, "bfloat16", monkeypatch, evidence, threshold)
    raw = answering.measure(fast_classifier, [answering.PreparedCell(preprocess_cell(load_image(path).image_rgb, loaded.image_size))
                                              for path in cell_paths], fast=True)
    assert {analysis.exactness for analysis in raw} == {FAST}  # these cells did stay in bfloat16 until settled
    unsettled = [assess(analysis, loaded.metadata, None, evidence, ERROR_RATE) for analysis in raw]
    differing = [cell for cell in placed if (unsettled[cell].answer, unsettled[cell].prediction_set, unsettled[cell].ood_flag)
                 != reference[cell][0:2] + (reference[cell][3],)]
    assert differing, "the boundaries were meant to separate the bfloat16 and float32 answers of the placed cells"
    for cell in range(len(cell_paths)):
        answer, prediction_set, reasons, ood_flag, _ = reference[cell]
        assert answer == labels.REFER or (prediction_set == (answer,) and not reasons)


@pytest.mark.slow
def test_boundaries_between_batched_and_alone_float32_give_one_answer(tiny_model_path, model_inputs, cell_paths, monkeypatch):
    loaded = load_classifier(tiny_model_path)
    float32 = classifier_for(loaded, "float32", monkeypatch)
    exact_features, exact = alone(float32, model_inputs)
    views = [float32.features_and_probabilities(dihedral_views(model_input)) for model_input in model_inputs]
    view_features = np.stack([features[0] for features, _ in views])
    view_logits = np.asarray(logit(np.asarray([probabilities[0] for _, probabilities in views])))
    threshold, evidence, _ = placed_evidence(np.asarray(logit(exact)), view_logits, exact_features, view_features)
    paths = answers_on_every_path(loaded, threshold, evidence, cell_paths, monkeypatch)
    for name, answers in paths.items():
        assert answers == paths["classify (8 views)"], f"{name} answers differently from Classify"


@pytest.mark.slow
def test_settle_runs_again_only_cells_near_a_boundary(tiny_model_path, model_inputs, cell_paths, monkeypatch):
    loaded = load_classifier(tiny_model_path)
    reference = classifier_for(loaded, "float32", monkeypatch).exact_values(model_inputs)[1]
    prepared = [answering.PreparedCell(preprocess_cell(load_image(path).image_rgb, loaded.image_size)) for path in cell_paths]
    logits = np.asarray(logit(reference))
    for threshold_logit, near in ((float(logits[3]), True), (float(logits.max()) + 20.0, False)):
        threshold = sigmoid(threshold_logit)
        classifier = classifier_for(loaded, "bfloat16", monkeypatch, threshold=threshold)
        measured = answering.measure(classifier, prepared, fast=True)
        settled, _ = answering.settle(classifier, measured, lambda positions: model_inputs[list(positions)])
        margin = answering.logit_margin(FAST, threshold_logit)
        for row, (before, after) in enumerate(zip(measured, settled)):
            close = abs(float(logit(before.prediction.probability_all)) - threshold_logit) < margin
            # Far cells keep their bfloat16 values; near ones run in float32 (alone too when still within 1e-3).
            assert after.exactness == FAST if not close else after.exactness in (BATCHED, EXACT)
            if close:
                assert after.prediction.label == labels.label_for(float(reference[row]), threshold)
        assert (settled[3].exactness != FAST) is near  # the cell the threshold sits on ran again; with it far, none did


def test_boundaries_are_in_log_odds_with_a_margin_that_grows_with_them():
    boundaries = np.array([0.0, 6.0])
    def analysis(probability, exactness):
        from core.model.analysis import CellAnalysis
        from core.model.inference import Prediction

        return CellAnalysis(Prediction(labels.label_for(probability, 0.5), probability, 0.5), None, (), None, exactness)

    cells = [analysis(sigmoid(0.2), FAST), analysis(sigmoid(0.4), FAST), analysis(sigmoid(6.7), FAST),
             analysis(sigmoid(7.5), FAST), analysis(sigmoid(0.0005), BATCHED), analysis(sigmoid(0.01), BATCHED),
             analysis(sigmoid(0.0), EXACT)]
    # bfloat16: 2 x 0.14 around 0, 2 x 0.38 around 6 (the band below 8): 6.7 is near, 7.5 is not;
    # a batched float32 value only within 1e-3.
    assert answering.near_boundary(cells, [None] * len(cells), boundaries, None) == [0, 2, 4]


@pytest.mark.parametrize("boundary", [-9.0, -4.8, -2.1, -0.3, 0.0, 1.45, 1.9, 2.4, 3.9, 4.79, 7.7, 8.0, 12.0, 16.0])
def test_a_bfloat16_value_that_drifted_as_far_as_measured_across_a_boundary_is_run_again(boundary):
    """Wherever the exact value e lies across b, a FAST value f with |f - e| up to the drift measured at |e| is near b."""
    from core.model.analysis import CellAnalysis
    from core.model.inference import Prediction

    for side in (-1.0, 1.0):
        for step in np.linspace(1e-6, 1.0, 60):
            exact = boundary + side * step
            drift = answering.fast_drift(exact)
            if drift < step:
                continue  # Too far from b for its measured drift to carry it across.
            fast = exact - side * drift  # drifted across b by as much as was ever measured there
            cell = CellAnalysis(Prediction(labels.label_for(sigmoid(fast), 0.5), sigmoid(fast), 0.5), None, (), None, FAST)
            assert answering.near_boundary([cell], [None], np.array([boundary]), None) == [0], (boundary, exact, fast)
    assert answering.logit_margin(FAST, boundary) >= 2 * answering.fast_drift(boundary)


def test_the_conformal_boundaries_are_where_the_set_changes():
    scores = {labels.ALL: np.linspace(0.0, 0.4, SCORES), labels.HEM: np.linspace(0.0, 0.3, SCORES)}
    calibration = Calibration(2.0, scores)
    evidence = ModelEvidence(calibration=calibration)
    boundaries = answering.logit_boundaries(0.5, evidence, ERROR_RATE)
    assert boundaries[0] == pytest.approx(0.0)
    for boundary in boundaries[1:]:
        below, above = calibration.answer(sigmoid(boundary - 1e-6), ERROR_RATE), calibration.answer(sigmoid(boundary + 1e-6), ERROR_RATE)
        assert below.prediction_set != above.prediction_set


def test_by_subject_cells_and_cells_alone_answer_alike(tiny_model_path, cell_paths, monkeypatch):
    loaded = load_classifier(tiny_model_path)
    classifier = classifier_for(loaded, "float32", monkeypatch)
    results = classify_files(classifier, cell_paths)
    subjects = predict_subjects.answer_subjects(results, classifier)
    assert sum(answer.cells_total for answer in subjects) == len(cell_paths)
