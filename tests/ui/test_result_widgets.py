"""ui.result_widgets: the similar cells' captions compare with the answer, or with the threshold's label when it is refer."""
from __future__ import annotations

from types import SimpleNamespace

from ui.result_widgets import similar_cell_agreement


def test_a_similar_cell_is_compared_with_the_answer_and_a_refer_says_which_label_it_compares_with():
    answered = SimpleNamespace(answer="all", label="all")
    assert similar_cell_agreement("all", answered) == "same as the answer"
    assert similar_cell_agreement("hem", answered) == "differs from the answer"
    referred = SimpleNamespace(answer="refer", label="hem")  # a refer is no answer a cell can share
    assert similar_cell_agreement("hem", referred) == "same as the label at the threshold"
    assert similar_cell_agreement("all", referred) == "differs from the label at the threshold"
