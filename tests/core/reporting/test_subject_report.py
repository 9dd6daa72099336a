"""The patient view's sentences, CSV and HTML report: honest words, safe text, self-contained."""
from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from core import config
from core.data import labels
from core.model.assessment import Assessment
from core.subjects.rules import answer_subject, running_scores
from core.reporting.subject_figures import distribution_figure, running_figure
from core.reporting.subject_report import build_subject_report
from core.subjects.summary import (
    DEMO_SUBJECT_SENTENCE, INTERVAL_MEANING, NO_CELLS_SENTENCE, SubjectCell, answer_sentences, csv_text, stability_sentence,
)

THUMB = np.full((8, 8, 3), 90, np.uint8)


def cell(name: str, probability: float, scope: tuple[str, ...] = (), answer: str | None = None) -> SubjectCell:
    label = labels.label_for(probability, 0.5)
    found = Assessment(answer or (labels.REFER if scope else label), label, probability, 0.5, None, None, False,
                       scope, is_demo=True)
    return SubjectCell(name, "d" * 64, THUMB, found)


@pytest.fixture
def cells() -> list[SubjectCell]:
    return [cell("=HYPERLINK(1).png", 0.9), cell("b.png", 0.8), cell("<script>c</script>.png", 0.7),
            cell("odd.png", 0.6, scope=("too dark",)), cell("amb.png", 0.55, answer=labels.REFER),
            SubjectCell("-broken.png", "e" * 64, error="-broken.png could not be read.")]


def test_the_answer_says_its_interval_what_was_left_out_and_its_limits(cells):
    answer = answer_subject("P1", [c.assessment for c in cells if c.assessment], 0.5)
    text = " ".join(answer_sentences(answer, is_demo=True))
    assert answer.answer == labels.ALL and answer.cells_used == 3
    assert "From 3 cell(s), the mean log-odds of the cells gives" in text and "95% interval" in text and INTERVAL_MEANING in text
    assert "1 cell(s) referred" in text and "1 out of scope" in text
    assert DEMO_SUBJECT_SENTENCE in text and config.DISCLAIMER in text


def test_stability_comes_from_the_sidecar_and_is_silent_without_it():
    sidecar = {"subject_evaluation": {"held_out": {"stable_after": 12, "summary": {"subjects": 5}}}}
    assert stability_sentence(sidecar, 30).startswith("With 12 cells, 95% of held-out subjects already got their final answer")
    assert "of 5 held-out subjects" in stability_sentence(sidecar, 30)
    assert "only 4 usable cell(s)" in stability_sentence(sidecar, 4)
    for older in ({}, {"subject_evaluation": {"held_out": {"stable_after": None}}}, {"subject_evaluation": None}):
        assert stability_sentence(older, 30) is None


def test_the_csv_escapes_formulas_in_every_text_field(cells):
    rows = list(csv.DictReader(io.StringIO(csv_text("+SUBJECT", cells))))
    assert len(rows) == len(cells)
    assert rows[0]["file"] == "'=HYPERLINK(1).png" and rows[0]["subject"] == "'+SUBJECT"
    assert rows[-1]["file"] == "'-broken.png" and rows[-1]["error"].startswith("'-broken.png")
    assert [row["used_in_subject_answer"] for row in rows] == ["yes", "yes", "yes", "no", "no", "no"]
    assert rows[3]["flags"] == "demo_model,out_of_scope"


def test_the_html_report_is_self_contained_and_escapes_names(cells):
    answer = answer_subject("<b>P1</b>", [c.assessment for c in cells if c.assessment], 0.5)
    report = build_subject_report(answer, cells, {"is_demo": True, "model_name": "demo"}, "f" * 64,
                                  stability="With 12 cells, ...", dataset_label=labels.ALL)
    assert "<script>" not in report and "&lt;script&gt;" in report and "<b>P1</b>" not in report
    assert report.count('src="data:image/png;base64,') == 5  # One thumbnail per assessed cell.
    assert "http://" not in report and "https://" not in report
    assert config.DISCLAIMER in report and "With 12 cells" in report and "-broken.png could not be read." in report
    table = report[report.index("most ALL-like first"):]
    assert table.index("0.900") < table.index("0.800") < table.index("0.700") < table.index("0.600")


def test_the_figures_draw_the_cells_and_the_thresholds():
    distribution = distribution_figure([0.1, 0.9, 0.95], ["Healthy", "ALL", "Refer"], 0.4)
    assert sum(len(trace.x) for trace in distribution.data) == 3
    assert distribution.layout.shapes[0].x0 == 0.4
    running = running_figure(running_scores(np.array([0.9, 0.2, 0.6]), 0.5), 0.5, "mean_log_odds")
    assert list(running.data[0].x) == [1, 2, 3] and running.layout.shapes[0].y0 == 0.5


def test_a_person_without_a_usable_cell_is_referred_on_every_surface():
    cells = [cell("odd.png", 0.6, scope=("too dark",)), cell("amb.png", 0.55, answer=labels.REFER)]
    answer = answer_subject("P2", [c.assessment for c in cells], 0.5)
    assert answer.answer == labels.REFER and answer.score is None
    assert NO_CELLS_SENTENCE in answer_sentences(answer, is_demo=False)
    report = build_subject_report(answer, cells, {}, "f" * 64)
    assert "Answer about the person: Refer" in report and NO_CELLS_SENTENCE in report


def test_a_field_cell_keeps_its_field_box_and_stain_in_the_report_and_the_csv():
    from dataclasses import replace

    from core.imaging.image_cells import CellPlace

    found = replace(cell("smear.jpg#2", 0.8), place=CellPlace("smear.jpg", 2, (10, 20, 110, 130)), stain="reinhard")
    plain = cell("b.png", 0.3)
    answer = answer_subject("P", [found.assessment, plain.assessment], 0.5)
    report = build_subject_report(answer, [found, plain], {"is_demo": True, "model_name": "demo"}, "f" * 64)
    assert "smear.jpg#2" in report and "box 10 20 110 130 px" in report and "moved to the model's stain" in report
    rows = {row["file"]: row for row in csv.DictReader(io.StringIO(csv_text("P", [found, plain])))}
    assert (rows["smear.jpg#2"]["field"], rows["smear.jpg#2"]["box"], rows["smear.jpg#2"]["stain"]) == ("smear.jpg", "10 20 110 130", "reinhard")
    assert (rows["b.png"]["field"], rows["b.png"]["box"], rows["b.png"]["stain"]) == ("", "", "")
