"""The stain and texture OOD score: fitted on training cells, stored in the sidecar, used by every path."""
from __future__ import annotations

import json

import numpy as np
import pytest

from core.data import labels
from core.errors import ModelError
from core.imaging.statistics import STATISTICS
from core.model import answering
from core.model.analysis import CellAnalysis
from core.model.assessment import assess, ood_sentence, qualifications
from core.model.embedding import EmbeddingIndex
from core.model.evidence import OLDER_OOD_CHECK, ModelEvidence, load_evidence
from core.model.inference import Prediction
from core.model.ood import ENTRY_KEY, StatisticsGaussian, threshold_of


def two_classes(cells: int = 60, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """(2 * cells, 16) statistics of two classes around different means, and their labels."""
    rng = np.random.default_rng(seed)
    centre = np.zeros(STATISTICS)
    centre[0] = 10.0
    rows = np.concatenate([rng.normal(size=(cells, STATISTICS)), centre + rng.normal(size=(cells, STATISTICS))])
    return rows, [labels.HEM] * cells + [labels.ALL] * cells


def test_a_class_mean_scores_near_zero_and_a_far_cell_far_higher():
    statistics, cell_labels = two_classes()
    gaussian = StatisticsGaussian.fit(statistics, cell_labels)
    means = gaussian.scores(gaussian.means)
    assert means == pytest.approx([0.0, 0.0], abs=1e-9)  # each class mean is its own nearest
    far = gaussian.scores(np.full((1, STATISTICS), 30.0))
    assert far[0] > 100 * np.median(gaussian.scores(statistics))


def test_the_entry_survives_json_and_scores_alike():
    gaussian = StatisticsGaussian.fit(*two_classes())
    again = StatisticsGaussian.from_entry(json.loads(json.dumps(gaussian.to_entry())))
    probe = np.random.default_rng(3).normal(size=(5, STATISTICS))
    np.testing.assert_array_equal(again.scores(probe), gaussian.scores(probe))


@pytest.mark.parametrize("change", [
    lambda entry: entry.pop("precision"),
    lambda entry: entry.update(means=[[float("nan")] * STATISTICS] * 2),
    lambda entry: entry.update(precision=[[1.0] * 3] * 3),
    lambda entry: entry.update(classes=[f"c{n}" for n in range(20)]),
    lambda entry: entry.update(classes="all"),
])
def test_a_malformed_entry_is_a_model_error(change):
    entry = StatisticsGaussian.fit(*two_classes()).to_entry()
    change(entry)
    with pytest.raises(ModelError, match="OOD statistics"):
        StatisticsGaussian.from_entry(entry)


def test_fitting_needs_two_cells_of_each_class():
    statistics, _ = two_classes(cells=2)
    with pytest.raises(ValueError, match="two training cells"):
        StatisticsGaussian.fit(statistics, [labels.HEM, labels.HEM, labels.HEM, labels.ALL])


def test_the_threshold_flags_the_stated_share_of_calibration_cells():
    scores = np.arange(1, 201, dtype=float)
    assert np.mean(scores > threshold_of(scores, 95)) == pytest.approx(0.05, abs=0.005)


def small_index(dimensions: int = 4) -> EmbeddingIndex:
    rows = np.eye(dimensions, dtype=np.float32)[[0] * 12] + 0.01 * np.arange(12)[:, None]
    return EmbeddingIndex.build(rows, [f"c{n}.bmp" for n in range(12)], [labels.ALL] * 12, ["S1"] * 12, ["train"] * 12)


def test_the_assessment_scores_the_statistics_and_says_so_with_the_threshold():
    gaussian = StatisticsGaussian.fit(*two_classes())
    evidence = ModelEvidence(index=small_index(), ood_threshold=50.0, ood_statistics=gaussian)
    far = np.full(STATISTICS, 30.0)
    analysis = CellAnalysis(Prediction(labels.ALL, 0.9, 0.5), None, (), np.eye(4, dtype=np.float32)[0], statistics=far)
    found = assess(analysis, {}, evidence=evidence)
    # The cell's features sit on the known cells (k-NN distance ~0), but its stain is far: referred all the same.
    assert found.ood_score == pytest.approx(float(gaussian.scores(far[None])[0])) and found.ood_flag is True
    assert found.answer == labels.REFER and ood_sentence(found) in qualifications(found)
    assert "stain and texture distance" in ood_sentence(found) and "threshold 50.0" in ood_sentence(found)


def test_an_index_without_statistics_keeps_the_older_score_and_says_how_to_update(tmp_path):
    index = small_index()
    index.save(tmp_path / "m.index.npz")
    entry = {"file": "m.index.npz", "ood_threshold": 0.2}
    older = load_evidence(tmp_path / "m.keras", {"embedding_index": entry})
    assert older.index is not None and older.ood_statistics is None and older.ood_score_drifts
    assert OLDER_OOD_CHECK.format(path=tmp_path / "m.keras") in older.notes
    newer = load_evidence(tmp_path / "m.keras", {"embedding_index": {**entry, ENTRY_KEY: StatisticsGaussian.fit(*two_classes()).to_entry()}})
    assert newer.ood_statistics is not None and not newer.ood_score_drifts
    assert not any("older" in note for note in newer.notes)


def test_a_statistics_score_at_the_threshold_runs_nothing_again_but_the_older_score_does(monkeypatch):
    """The statistics do not move with the pass, so no margin; the k-NN distance does, so its margin reruns the cell."""
    index, gaussian = small_index(), StatisticsGaussian.fit(*two_classes())
    statistics = np.zeros(STATISTICS)
    features = np.eye(4, dtype=np.float32)[1]  # far from the indexed cells: k-NN distance ~1.4
    analysis = CellAnalysis(Prediction(labels.ALL, 0.9, 0.5), None, (), features, answering.BATCHED, statistics)
    rerun = []
    monkeypatch.setattr(answering, "rerun", lambda classifier, analyses, positions, inputs: rerun.append(list(positions)) or list(analyses))
    classifier = type("Fake", (), {"threshold": 1e-9, "evidence": None})()
    for evidence, expected in ((ModelEvidence(index=index, ood_threshold=float(gaussian.scores(statistics[None])[0]),
                                              ood_statistics=gaussian), []),
                               (ModelEvidence(index=index, ood_threshold=index.ood_score(features)), [[0]])):
        classifier.evidence, rerun[:] = evidence, []
        answering.settle(classifier, [analysis], lambda positions: None)
        assert rerun[:1] == expected


def test_many_cells_get_their_statistics_scores_and_the_same_neighbours_as_one_query():
    index, gaussian = small_index(), StatisticsGaussian.fit(*two_classes())
    rng = np.random.default_rng(5)
    features = rng.normal(size=(7, 4)).astype(np.float32)
    statistics = rng.normal(size=(7, STATISTICS)) * 5
    analyses = [CellAnalysis(Prediction(labels.ALL, 0.9, 0.5), None, (), row, statistics=cell) for row, cell in zip(features, statistics)]
    found = answering.neighbourhoods(analyses, ModelEvidence(index=index, ood_threshold=1.0, ood_statistics=gaussian))
    assert [score for _, score in found] == pytest.approx(list(gaussian.scores(statistics)))
    assert [similar for similar, _ in found] == [index.query(row)[0] for row in features]
    assert [score for _, score in index.query_many(features, ood_k=None)] == [None] * 7

