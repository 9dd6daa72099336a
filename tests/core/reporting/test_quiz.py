"""Quiz scoring on a hand-computed example, the cells a quiz draws, and its summary files."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from core.data.labels import ALL, HEM, REFER
from core.data.quiz_cells import HELD_OUT, REAL, default_source, draw_cells, held_out_cells
from core.data.index import ImageRecord
from core.data.sides import REAL_CELLS, SEEN_IN_TRAINING, SIDE_NAMES, Sample, SplitSides
from core.model.assessment import Assessment
from core.reporting.quiz import answer_from, model_score, referred, score_rows, student_score
from core.reporting.quiz_summary import CSV_COLUMNS, summary_csv, summary_html


def model_said(label: str, probability: float, answer: str | None = None, calibrated: float | None = None) -> Assessment:
    return Assessment(answer=answer or label, label=label, probability_all=probability, threshold=0.5, tta_mean=None,
                      tta_std=None, views_disagree=False, scope_reasons=(), is_demo=False,
                      probability_all_calibrated=calibrated)


@pytest.fixture
def answers():
    """Four cells worked by hand (truth, the student's call and confidence, the model's call and P(ALL)).

    Student P(ALL): 0.9, 0.4, 0.0, 0.5 -> squared errors 0.01, 0.36, 0, 0.25 -> Brier 0.155.
    Model P(ALL) (the calibrated 0.6 wins over the raw 0.9): 0.8, 0.7, 0.6, 0.1 -> 0.04, 0.09, 0.36, 0.01 -> 0.125.
    """
    return [
        answer_from("a.png", ALL, ALL, 0.9, model_said(ALL, 0.8), "held out"),
        answer_from("b.png", ALL, HEM, 0.6, model_said(ALL, 0.7, answer=REFER), "held out"),
        answer_from("c.png", HEM, HEM, 1.0, model_said(ALL, 0.9, calibrated=0.6), "held out"),
        answer_from("d.png", HEM, ALL, 0.5, model_said(HEM, 0.1), "held out"),
    ]


def test_the_hand_computed_scores(answers):
    student, model = student_score(answers), model_score(answers)
    assert (student.sensitivity, student.specificity, student.correct) == (0.5, 0.5, 2)
    assert student.brier == pytest.approx(0.155)
    # The model is scored on its threshold's call on every cell, the referred one (b) included.
    assert (model.sensitivity, model.specificity, model.correct) == (1.0, 0.5, 3)
    assert model.brier == pytest.approx(0.125)
    assert referred(answers) == 1


def test_a_class_not_met_yet_has_no_sensitivity_and_no_cell_has_no_brier(answers):
    assert student_score(answers[2:]).sensitivity is None and student_score(answers[:2]).specificity is None
    assert student_score([]).brier is None
    rows = {row["measure"].split(" ")[0]: row for row in score_rows(answers[:1])}
    assert rows["Specificity"]["you"] == "no cell yet" and rows["Sensitivity"]["you"] == "1 of 1 (100%)"
    assert rows["Brier"]["the model"] == "0.040"


@pytest.mark.parametrize(("truth", "call", "confidence", "message"), [
    ("ALL", ALL, 0.8, "truth"), (ALL, "refer", 0.8, "call"), (ALL, ALL, 0.4, "confidence"), (ALL, HEM, 1.01, "confidence"),
])
def test_a_bad_answer_is_refused_with_what_was_wrong(truth, call, confidence, message):
    with pytest.raises(ValueError, match=message):
        answer_from("a.png", truth, call, confidence, model_said(ALL, 0.8), "held out")


def cells(all_count: int, hem_count: int) -> list[Sample]:
    return ([Sample(Path(f"a{n}.png"), ALL, "held out") for n in range(all_count)]
            + [Sample(Path(f"h{n}.png"), HEM, "held out") for n in range(hem_count)])


@pytest.mark.parametrize(("all_count", "hem_count", "drawn_all", "drawn_hem"), [
    (8, 8, 5, 5), (3, 20, 3, 7), (20, 2, 8, 2), (2, 3, 2, 3),
])
def test_draws_are_balanced_where_they_can_be_and_repeat_for_a_seed(all_count, hem_count, drawn_all, drawn_hem):
    drawn = draw_cells(cells(all_count, hem_count), 10, seed=3)
    assert [cell.label for cell in drawn].count(ALL) == drawn_all and [c.label for c in drawn].count(HEM) == drawn_hem
    assert len({cell.path for cell in drawn}) == len(drawn)
    assert drawn == draw_cells(cells(all_count, hem_count), 10, seed=3)


def test_held_out_cells_are_the_held_out_subjects_and_the_external_set():
    records = [ImageRecord(Path("training_data/fold_0/all/UID_1_1_1_all.bmp"), "fold_0", ALL, "1"),
               ImageRecord(Path("training_data/fold_0/hem/UID_H2_1_1_hem.bmp"), "fold_0", HEM, "H2"),
               ImageRecord(Path("validation_data/x/1.bmp"), "validation", HEM, None)]
    sides = SplitSides({records[0].path.parts: "train", records[1].path.parts: "validation"})
    found = held_out_cells(records, sides)
    assert [(cell.path.name, cell.side) for cell in found] == [
        ("UID_H2_1_1_hem.bmp", SIDE_NAMES["validation"]), ("1.bmp", SIDE_NAMES["external"])]


def test_the_default_source_gives_a_meaningful_comparison():
    real, held_out = [Sample(Path("r.png"), ALL, REAL_CELLS, REAL_CELLS)], cells(1, 1)
    both = {REAL: real, HELD_OUT: held_out}
    assert default_source(both, is_demo=True) == HELD_OUT  # the demo model's answers on real cells mean nothing
    assert default_source(both, is_demo=False) == REAL
    seen = [Sample(Path("r.png"), ALL, SEEN_IN_TRAINING, REAL_CELLS)]
    assert default_source({REAL: seen, HELD_OUT: held_out}, is_demo=False) == HELD_OUT  # it would remember them
    assert default_source({REAL: real, HELD_OUT: []}, is_demo=True) == REAL
    assert default_source({REAL: [], HELD_OUT: []}, is_demo=False) is None


def test_the_summary_files_hold_every_cell_and_escape_names(answers):
    hostile = answer_from("=cmd|' /C calc'!A0<b>.png", ALL, ALL, 0.7, model_said(HEM, 0.2), "held out")
    rows = list(csv.DictReader(summary_csv([*answers, hostile]).splitlines()))
    assert tuple(rows[0]) == CSV_COLUMNS and len(rows) == 5
    assert rows[1]["your P(ALL)"] == "0.40" and rows[1]["model answer"] == "Refer"
    assert rows[4]["cell"].startswith("'=")
    page = summary_html([*answers, hostile], ["This model learned synthetic cells."], {"model_name": "<m>"}, "abc")
    assert "<b>.png" not in page and "&lt;b&gt;.png" in page and "&lt;m&gt;" in page
    # With the fifth cell: student (0.62 + 0.3^2) / 5 = 0.142, model (0.5 + 0.8^2) / 5 = 0.228.
    assert "0.142" in page and "0.228" in page and "This model learned synthetic cells." in page


def test_the_notes_say_when_the_comparison_with_the_model_means_nothing():
    from core.model.assessment import DEMO_SENTENCE, REAL_CELL_ON_DEMO_SENTENCE, SEEN_IN_TRAINING_SENTENCE
    from core.reporting.quiz import COMPARE_WITH_TRUTH, FAIR_ON_HELD_OUT, SYNTHETIC_CELLS, comparison_notes

    real = [Sample(Path("r.png"), ALL, REAL_CELLS, REAL_CELLS)]
    assert comparison_notes(REAL, True, True, real) == [DEMO_SENTENCE, REAL_CELL_ON_DEMO_SENTENCE, COMPARE_WITH_TRUTH]
    assert comparison_notes(HELD_OUT, True, True, cells(1, 1)) == [DEMO_SENTENCE, SYNTHETIC_CELLS, FAIR_ON_HELD_OUT]
    assert comparison_notes(REAL, False, False, real) == []
    seen = [Sample(Path("r.png"), ALL, SEEN_IN_TRAINING, REAL_CELLS)]
    assert comparison_notes(REAL, False, False, seen) == [SEEN_IN_TRAINING_SENTENCE]


def test_a_demo_split_csv_never_names_the_side_of_a_real_cell():
    """Synthetic names copy C-NMC's: the demo model's split may list a synthetic cell with a real cell's stem."""
    from core.data.quiz_cells import real_cells

    first = real_cells(None)[0]
    sides = SplitSides({("training_data", f"{first.path.stem}.bmp"): "train"}, {first.path.stem: "train"})
    assert real_cells(sides, model_is_demo=False)[0].side == SEEN_IN_TRAINING
    assert real_cells(sides, model_is_demo=True)[0].side == REAL_CELLS
