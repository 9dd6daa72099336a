"""The one decision rule: an answer only from a one-class prediction set of an in-scope, in-distribution cell."""
from __future__ import annotations

import itertools

import pytest

from core.data import labels
from core.model import decision

SETS = [(), (labels.ALL,), (labels.HEM,), (labels.ALL, labels.HEM), None]


@pytest.mark.parametrize(("threshold_label", "prediction_set", "out_of_scope", "out_of_distribution"),
                         list(itertools.product(labels.LABELS, SETS, (False, True), (None, False, True))))
def test_refer_exactly_when_the_set_is_not_one_class_or_the_cell_is_unfit(threshold_label, prediction_set,
                                                                          out_of_scope, out_of_distribution):
    decided = decision.decide(threshold_label, prediction_set, ("not dark",) if out_of_scope else (), out_of_distribution)
    one_class = prediction_set is None or len(prediction_set) == 1
    should_refer = out_of_scope or bool(out_of_distribution) or not one_class
    assert (decided.answer == labels.REFER) is should_refer
    assert bool(decided.reasons) is should_refer
    if prediction_set is not None and decided.answer != labels.REFER:
        assert decided.answer in prediction_set  # never an answer outside the set
    if prediction_set is None and decided.answer != labels.REFER:
        assert decided.answer == threshold_label  # without conformal scores the threshold decides


def test_the_reasons_are_named_in_order():
    decided = decision.decide(labels.ALL, (), ("not dark",), True)
    assert decided.reasons == (decision.OUT_OF_SCOPE, decision.OUT_OF_DISTRIBUTION, decision.NONE_PLAUSIBLE)
    assert decision.decide(labels.HEM, (labels.ALL, labels.HEM), (), False).reasons == (decision.BOTH_PLAUSIBLE,)


def test_the_set_overrules_the_threshold():
    assert decision.decide(labels.HEM, (labels.ALL,), (), False).answer == labels.ALL
    assert decision.decide(labels.ALL, (labels.HEM,), (), None).answer == labels.HEM


def test_a_wrong_label_is_refused():
    with pytest.raises(ValueError, match="threshold_label"):
        decision.decide("refer", None, (), None)


@pytest.mark.parametrize(("prediction_set", "text"), [(None, ""), ((), ""), (("all",), "all"), (("hem",), "hem"),
                                                      (("all", "hem"), "all|hem")])
def test_the_csv_writes_the_set(prediction_set, text):
    assert decision.conformal_set_text(prediction_set) == text
