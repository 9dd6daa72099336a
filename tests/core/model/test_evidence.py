"""A model's evidence (calibration, index of known cells) flows into the one Assessment every surface shows."""
from __future__ import annotations

import numpy as np

from core.data import labels
from core.model.analysis import CellAnalysis
from core.model.assessment import (
    CONFORMAL_REFER_SENTENCE, OUT_OF_SCOPE_SENTENCE, REFER_OUT_OF_SCOPE, answer_text, assess, flags, ood_sentence,
    qualifications,
)
from core.model.calibration import Calibration
from core.model.embedding import EmbeddingIndex
from core.model.evidence import NO_CALIBRATION, NO_INDEX, ModelEvidence, load_evidence
from core.model.inference import Prediction

DIMENSIONS = 8


def small_index() -> EmbeddingIndex:
    """Twenty training cells around one direction, two validation cells: a toy feature space."""
    rng = np.random.default_rng(0)
    features = (np.eye(DIMENSIONS)[0] + 0.05 * rng.normal(size=(22, DIMENSIONS))).astype(np.float32)
    sides = ["train"] * 20 + ["validation"] * 2
    cell_labels = [labels.ALL if row % 2 else labels.HEM for row in range(22)]
    return EmbeddingIndex.build(features, [f"cell{row}.bmp" for row in range(22)], cell_labels,
                                [f"S{row % 5}" for row in range(22)], sides)


def analysis_of(probability_all: float, features: np.ndarray | None) -> CellAnalysis:
    return CellAnalysis(Prediction(labels.label_for(probability_all, 0.5), probability_all, 0.5), None, (), features)


def test_a_cell_near_the_known_ones_gets_its_neighbours_and_no_flag():
    evidence = ModelEvidence(index=small_index(), ood_threshold=0.5)
    assessment = assess(analysis_of(0.9, np.eye(DIMENSIONS, dtype=np.float32)[0]), {}, evidence=evidence)
    assert len(assessment.similar_cells) == 6 and assessment.ood_flag is False
    assert assessment.answer == labels.ALL and OUT_OF_SCOPE_SENTENCE not in qualifications(assessment)


def test_a_cell_unlike_the_known_ones_is_referred():
    evidence = ModelEvidence(index=small_index(), ood_threshold=0.5)
    assessment = assess(analysis_of(0.9, np.eye(DIMENSIONS, dtype=np.float32)[3]), {}, evidence=evidence)
    assert assessment.ood_flag is True and assessment.answer == labels.REFER
    assert assessment.refer_reasons == ("out_of_distribution",) and answer_text(assessment) == REFER_OUT_OF_SCOPE
    assert ood_sentence(assessment) in qualifications(assessment) and "out_of_distribution" in flags(assessment)
    # The sentence says why: the cell's score against the model's threshold.
    assert f"{assessment.ood_score:.3f}" in ood_sentence(assessment) and "threshold 0.500" in ood_sentence(assessment)
    assert "out_of_scope" not in flags(assessment)  # the image itself passed the scope check


def test_calibration_gives_the_calibrated_probability_and_refers_the_ambiguous_cell():
    scores = {labels.ALL: np.linspace(0.0, 0.6, 100), labels.HEM: np.linspace(0.0, 0.6, 100)}
    evidence = ModelEvidence(calibration=Calibration(2.0, scores))
    sure = assess(analysis_of(0.99, None), {}, evidence=evidence, error_rate=0.05)
    assert sure.probability_all_calibrated < 0.99 and sure.conformal_decision == labels.ALL and sure.answer == labels.ALL
    ambiguous = assess(analysis_of(0.5, None), {}, evidence=evidence, error_rate=0.05)
    assert ambiguous.conformal_decision == labels.REFER and ambiguous.answer == labels.REFER
    assert CONFORMAL_REFER_SENTENCE in qualifications(ambiguous)


def test_an_old_model_gets_notes_naming_the_commands(tmp_path):
    evidence = load_evidence(tmp_path / "model.keras", {"threshold": 0.5})
    assert evidence.calibration is None and evidence.index is None
    path = tmp_path / "model.keras"
    assert evidence.notes == (NO_CALIBRATION.format(path=path), NO_INDEX.format(path=path))


def test_a_missing_index_file_is_a_note_not_an_error(tmp_path):
    evidence = load_evidence(tmp_path / "model.keras", {"embedding_index": {"file": "model.index.npz", "ood_threshold": 0.2}})
    assert evidence.index is None and any("could not be used" in note for note in evidence.notes)
