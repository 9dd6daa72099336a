"""The sidecar's optional "subject_evaluation": absent passes, a malformed value is refused naming its field."""
import copy

import pytest

from core.errors import ModelError
from core.model.sidecar_schema import validate_sidecar

GOOD_SET = {
    "rows": [{"subject": "H3", "cells": 12, "score": 0.2, "interval": [0.1, 0.3], "answer": "hem", "truth": "hem"}],
    "summary": {"subjects": 1, "correct": 1, "accuracy": 1.0, "accuracy_ci": [0.025, 1.0], "roc_auc": None, "roc_auc_ci": None},
    "rules": {"mean_probability": {"subjects": 1, "correct": 1, "accuracy": 1.0, "accuracy_ci": [0.025, 1.0], "roc_auc": None}},
    "cells_needed": [{"cells": 1, "subjects": 1, "accuracy": 0.9, "roc_auc": None, "agreement": 0.9}],
    "stable_after": 5,
}
GOOD = {"rule": "mean_log_odds", "held_out": GOOD_SET}


def test_absent_or_good_passes():
    assert validate_sidecar({"threshold": 0.5}, "m.json") == {"threshold": 0.5}
    validate_sidecar({"subject_evaluation": GOOD}, "m.json")
    validate_sidecar({"subject_evaluation": {**GOOD, "external": GOOD_SET, "notes": ["a note"]}}, "m.json")


@pytest.mark.parametrize("path, value, field", [
    (("rule",), "median", "subject_evaluation.rule"),
    (("held_out", "rows"), "H3", "subject_evaluation.held_out.rows"),
    (("held_out", "rows", 0, "score"), 1.5, "subject_evaluation.held_out.rows[0].score"),
    (("held_out", "rows", 0, "score"), True, "subject_evaluation.held_out.rows[0].score"),
    (("held_out", "rows", 0, "interval"), [0.3, 0.1], "subject_evaluation.held_out.rows[0].interval[1]"),
    (("held_out", "rows", 0, "answer"), "maybe", "subject_evaluation.held_out.rows[0].answer"),
    (("held_out", "rows", 0, "cells"), 0, "subject_evaluation.held_out.rows[0].cells"),
    (("held_out", "rows", 0, "subject"), 7, "subject_evaluation.held_out.rows[0].subject"),
    (("held_out", "summary", "accuracy"), float("nan"), "subject_evaluation.held_out.summary.accuracy"),
    (("held_out", "rules"), {"median": {}}, "subject_evaluation.held_out.rules"),
    (("held_out", "cells_needed", 0, "agreement"), -0.1, "subject_evaluation.held_out.cells_needed[0].agreement"),
    (("held_out", "stable_after"), 0, "subject_evaluation.held_out.stable_after"),
    (("external",), [], "subject_evaluation.external"),
])
def test_a_malformed_value_is_refused_naming_its_field(path, value, field):
    found = copy.deepcopy(GOOD)
    target = found
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ModelError, match=rf'm\.json: the field "{__import__("re").escape(field)}" .*core\.cli\.subjects'):
        validate_sidecar({"subject_evaluation": found}, "m.json")
