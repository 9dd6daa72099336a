"""The Quiz page through AppTest: ten cells to the summary, the source choice and its notes, restart.

The model is the tiny one with a demo sidecar and a split CSV (`install_demo_model`), so the default
cells are the held-out synthetic ones and the shipped real cells are the other choice.
"""
from __future__ import annotations

import pytest
from apptest_helpers import open_app, texts
from model_files import install_demo_model

from core import config
from core.data.quiz_cells import HELD_OUT, REAL
from core.data.labels import ALL, HEM
from core.data.sides import REAL_CELLS
from core.model.assessment import DEMO_SENTENCE, REAL_CELL_ON_DEMO_SENTENCE
from core.reporting.quiz import COMPARE_WITH_TRUTH, FAIR_ON_HELD_OUT

PAGE = "app_pages/quiz.py"


@pytest.fixture(scope="module")
def demo_model_path(tmp_path_factory, tiny_model_path, synthetic_data_root):
    """One model file for the module, so that both tests share the app's loaded model and explainer."""
    return install_demo_model(tiny_model_path, tmp_path_factory.mktemp("quiz_model"), synthetic_data_root)


@pytest.fixture
def quiz(monkeypatch, demo_model_path, synthetic_data_root):
    """The Quiz page opened directly. Its heatmaps are flat stand-ins here (Grad-CAM is the Explain tests' and
    the browser quiz test's), which keeps ten cells quick; the model's answers are real."""
    import numpy as np

    from ui import explain_cache

    monkeypatch.setattr(explain_cache, "get_heatmap", lambda classifier, digest, model_input, *options:
                        np.zeros(model_input.shape[:2], np.float32))
    monkeypatch.setenv("LEUKEMIA_MODEL", str(demo_model_path))
    monkeypatch.setenv("LEUKEMIA_DATA_DIR", str(synthetic_data_root))
    at = open_app().switch_page(PAGE).run()
    assert not at.exception
    return at


def button(at, label: str):
    return next(found for found in at.button if found.label == label)


def answer_one(at, number: int, call: str) -> None:
    """Answer cell `number` with `call` at 80%, checking that its file name stays hidden until then."""
    assert texts(at.subheader)[-1] == f"Cell {number} of {config.QUIZ_LENGTH}"
    shown = " ".join(texts(at.markdown) + texts(at.caption))
    assert ".bmp" not in shown and ".png" not in shown, "a file name (which carries the class) shows before the answer"
    at.radio[-1].set_value(call)
    at.slider[-1].set_value(80)
    button(at, "Check my answer").click().run()
    assert not at.exception and not at.error
    assert texts(at.subheader)[-1].startswith(f"Cell {number} of {config.QUIZ_LENGTH}: ")
    assert any(f"You:** {'ALL' if call == ALL else 'Healthy'}, 80% sure" in text for text in texts(at.markdown))
    assert any("The model:** " in text for text in texts(at.markdown))


@pytest.mark.slow
def test_ten_cells_reach_the_summary_and_restart_starts_over(quiz):
    assert any(config.DISCLAIMER in text for text in texts(quiz.caption)), "the frame on a page opened directly"
    notes = " ".join(texts(quiz.warning))
    assert DEMO_SENTENCE in notes and FAIR_ON_HELD_OUT in notes
    assert quiz.radio(key="quiz_source_input").value == HELD_OUT
    button(quiz, "Check my answer").click().run()
    assert "Choose ALL or Healthy first" in " ".join(texts(quiz.warning)), "checking without an answer says what to do"
    for number in range(1, config.QUIZ_LENGTH + 1):
        answer_one(quiz, number, ALL if number % 2 else HEM)
        assert quiz.radio(key="quiz_source_input").disabled, "the source is fixed once a cell is answered"
        assert f"of {number} (" in quiz.table[0].value.loc["Correct", "you"], "the running score counts every cell"
        button(quiz, "See the summary" if number == config.QUIZ_LENGTH else "Next cell").click().run()
    assert not quiz.exception
    assert texts(quiz.subheader)[-1] == f"Your summary: {config.QUIZ_LENGTH} cells"
    assert len(quiz.dataframe[0].value) == config.QUIZ_LENGTH
    assert f"of {config.QUIZ_LENGTH} (" in quiz.table[0].value.loc["Correct", "the model"]
    assert len(quiz.session_state["quiz_answers"]) == config.QUIZ_LENGTH
    button(quiz, "Restart the quiz (new cells)").click().run()
    assert texts(quiz.subheader)[-1] == f"Cell 1 of {config.QUIZ_LENGTH}" and quiz.session_state["quiz_answers"] == []


def test_real_cells_on_the_demo_model_say_the_comparison_means_nothing(quiz):
    quiz.radio(key="quiz_source_input").set_value(REAL).run()
    assert not quiz.exception
    notes = " ".join(texts(quiz.warning))
    assert DEMO_SENTENCE in notes and REAL_CELL_ON_DEMO_SENTENCE in notes and COMPARE_WITH_TRUTH in notes
    answer_one(quiz, 1, HEM)
    assert REAL_CELL_ON_DEMO_SENTENCE in texts(quiz.warning)[-1], "the cell's own qualifications say it too"
    assert any(text.endswith(f"{REAL_CELLS}. Its label in the dataset is the truth here.") for text in texts(quiz.caption))
