"""The patient view's files: prepared (decoded, preprocessed, scope-checked) apart from the model, in order, errors kept."""
from __future__ import annotations

import hashlib

import cv2
import numpy as np
import pytest

from core.model.inference import Classifier
from core.model.store import load_classifier
from core.subjects import cells as subject_cells


@pytest.fixture(scope="module")
def classifier(tiny_model_path):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LEUKEMIA_BATCH_PRECISION", "float32")  # batch-for-batch equal answers below
        return Classifier(load_classifier(tiny_model_path))


@pytest.fixture(scope="module")
def files(synthetic_data_root) -> list[tuple[str, str, bytes]]:
    """Seven cells, one corrupt file and one blank image (no cell to find), as (name, SHA-256, bytes)."""
    paths = sorted(synthetic_data_root.rglob("*.bmp"))[:7]
    made = [(path.name, hashlib.sha256(path.read_bytes()).hexdigest(), path.read_bytes()) for path in paths]
    broken, blank = b"not an image", cv2.imencode(".png", np.zeros((80, 80, 3), np.uint8))[1].tobytes()
    return (made[:3] + [("broken.bmp", hashlib.sha256(broken).hexdigest(), broken)] + made[3:5]
            + [("blank.png", hashlib.sha256(blank).hexdigest(), blank)] + made[5:])


def test_batches_give_what_one_call_gives_in_order_with_the_errors_named(classifier, files):
    whole = subject_cells.analyse_files(classifier, files)
    batches = [files[:3], files[3:6], files[6:]]
    batched = [cell for cells in subject_cells.analyse_in_batches(classifier, batches) for cell in cells]
    assert [cell.name for cell in batched] == [name for name, _, _ in files]
    assert batched[3].analysis is None and "broken.bmp" in batched[3].error
    assert batched[6].analysis is None and "blank.png" in batched[6].error  # no cell found: the others carry on
    for one, other in zip(batched, whole):
        assert (one.error is None) == (other.error is None)
        if one.analysis is not None:
            assert one.analysis.prediction.label == other.analysis.prediction.label
            assert one.analysis.prediction.probability_all == pytest.approx(other.analysis.prediction.probability_all, abs=1e-5)
            assert one.analysis.scope_reasons == other.analysis.scope_reasons


def test_the_next_batch_is_prepared_only_when_this_one_is_computed(classifier, files, monkeypatch):
    """A cached batch (its analysis never calls on_miss) starts nothing: a rerun does not decode every file again."""
    prepared_batches = []
    real_prepare = subject_cells.prepare_files
    monkeypatch.setattr(subject_cells, "prepare_files",
                        lambda batch, size, normaliser=None: prepared_batches.append([name for name, _, _ in batch])
                        or real_prepare(batch, size, normaliser))
    batches = [files[:3], files[3:6], files[6:]]

    def analyse(batch, prepared, on_miss):
        if batch is batches[0]:
            return ["cached"]  # a hit: neither prepares nor calls on_miss
        on_miss()
        return subject_cells.analyse_prepared(classifier, prepared())

    results = list(subject_cells.analyse_in_batches(classifier, batches, analyse))
    assert results[0] == ["cached"] and len(results[1]) == 3 and len(results[2]) == 3
    # Batch 1 prepared itself (nothing was ahead); its miss prepared batch 2 in the thread, meanwhile.
    assert sorted(prepared_batches) == sorted([[name for name, _, _ in batches[1]], [name for name, _, _ in batches[2]]])


def test_cells_are_assessed_against_the_index_as_one_by_one(classifier, files):
    """One `query_many` for all cells gives each cell the similar cells and OOD flag that `assess` alone gives it."""
    import dataclasses

    from core.model.answering import settle
    from core.model.assessment import assess
    from core.model.embedding import EmbeddingIndex

    rng = np.random.default_rng(6)
    cells = 30
    index = EmbeddingIndex.build(rng.normal(size=(cells, 2048)), [f"cell_{row}.bmp" for row in range(cells)], ["all"] * cells,
                                 ["S1"] * cells, ["train"] * 20 + ["validation"] * 10)
    indexed = Classifier(classifier.loaded)
    indexed.evidence = dataclasses.replace(indexed.evidence, index=index, ood_threshold=0.9)
    analysed = subject_cells.analyse_files(indexed, files)
    assessed = subject_cells.assess_cells(indexed, analysed, files)
    assert [cell.error is None for cell in assessed] == [cell.analysis is not None for cell in analysed]
    # A cell near a boundary is run again in float32 before it is assessed: compare on those values.
    usable = [(cell, one) for cell, one in zip(assessed, analysed) if one.analysis is not None]
    inputs = [stage.stages.model_input for stage in subject_cells.prepare_files([f for f, one in zip(files, analysed)
                                                                                if one.analysis is not None], indexed.image_size)]
    settled, _ = settle(indexed, [one.analysis for _, one in usable], lambda positions: np.stack([inputs[p] for p in positions]))
    for (cell, _), analysis in zip(usable, settled):
        alone = assess(analysis, indexed.loaded.metadata, None, indexed.evidence)
        assert len(cell.assessment.similar_cells) == 6
        assert [near.file for near in cell.assessment.similar_cells] == [near.file for near in alone.similar_cells]
        assert cell.assessment.ood_score == pytest.approx(alone.ood_score, abs=1e-6)
        assert cell.assessment.ood_flag == alone.ood_flag


def field_file() -> tuple[str, str, bytes]:
    """A synthetic smear field with three whole white cells, as (name, SHA-256, PNG bytes)."""
    from core.data.synthetic_fields import FieldLayout, draw_field

    layout = FieldLayout(size=(480, 640), red_cell_px=80.0, white_cells=((160, 150, 1.6, 3), (450, 300, 1.4, 1), (300, 380, 1.5, 4)))
    data = cv2.imencode(".png", cv2.cvtColor(draw_field(layout, np.random.default_rng(0)).image_rgb, cv2.COLOR_RGB2BGR))[1].tobytes()
    return "smear.png", hashlib.sha256(data).hexdigest(), data


def test_a_field_gives_each_white_cell_with_its_place_and_a_rerun_runs_that_very_cell(classifier, files, monkeypatch):
    """Every cell of a field is answered as FIELD#k with its box; a cell run again is its own cut-out, not its neighbour's."""
    from core.model import answering
    from core.model.calibration import logit

    field = field_file()
    given = [files[0], field, files[1]]
    analysed = subject_cells.analyse_files(classifier, given)
    names = [cell.name for cell in analysed]
    assert names[0] == files[0][0] and names[-1] == files[1][0]
    found = analysed[1:-1]
    assert [cell.name for cell in found] == [f"smear.png#{k}" for k in range(1, len(found) + 1)] and len(found) == 3
    assert all(cell.place.field == "smear.png" and cell.digest == field[1] and len(cell.place.box) == 4 for cell in found)
    assert analysed[0].place is None
    monkeypatch.setattr(answering, "near_boundary", lambda analyses, *_: list(range(len(analyses))))  # every cell again
    assessed = subject_cells.assess_cells(classifier, analysed, given)
    prepared = subject_cells.prepare_files(given, classifier.image_size)
    alone = [float(logit(classifier.exact_values(cell.stages.model_input[None])[1][0])) for cell in prepared]
    assert max(alone[1:-1]) - min(alone[1:-1]) > 1e-2  # the cells differ, so a mixed-up rerun would show
    assert [float(logit(cell.assessment.probability_all)) for cell in assessed] == pytest.approx(alone, abs=1e-4)
    assert [cell.place for cell in assessed] == [cell.place for cell in analysed]


def test_the_csv_keeps_a_field_cells_field_box_and_stain(classifier):
    import csv
    import io

    from core.subjects.summary import csv_text

    assessed = subject_cells.assess_subject_cells(classifier, [field_file()])
    rows = list(csv.DictReader(io.StringIO(csv_text("uploaded cells", assessed))))
    assert [row["file"] for row in rows] == [cell.name for cell in assessed]
    assert all(row["field"] == "smear.png" and len(row["box"].split()) == 4 and row["stain"] == "" for row in rows)


def test_a_field_without_white_cells_is_one_error_naming_it(classifier):
    empty = cv2.imencode(".png", np.full((480, 640, 3), 225, np.uint8))[1].tobytes()
    analysed = subject_cells.analyse_files(classifier, [("empty.png", hashlib.sha256(empty).hexdigest(), empty)])
    assert len(analysed) == 1 and analysed[0].analysis is None and "empty.png" in analysed[0].error
