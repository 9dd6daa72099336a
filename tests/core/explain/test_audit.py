"""The explanation audit on the tiny ResNet50, and what the sidecar accepts."""
from __future__ import annotations

import math

import pytest
from explain_inputs import SIZE

from core import config
from core.errors import ModelError
from core.explain.audit import SIDECAR_KEY, audit_explanations, audit_pairs
from core.imaging.preprocess import preprocess_cell
from core.model.sidecar_schema import validate_sidecar


def test_every_method_is_audited_and_gradient_cams_on_every_layer():
    pairs = audit_pairs()
    assert len(pairs) == 3 * 3 + 2 and ("scorecam", config.LAST_CONV_LAYER) in pairs
    assert len(set(pairs)) == len(pairs)


@pytest.mark.slow
def test_audit_rows_hold_areas_scores_and_the_sanity_check_in_range(explainer, cell):
    audit = audit_explanations(explainer, [preprocess_cell(cell, SIZE)],
                               [("gradcam", config.LAST_CONV_LAYER), ("layercam", config.LAST_CONV_LAYER)])
    assert audit["cells"] == 1 and [row["method"] for row in audit["rows"]] == ["gradcam", "layercam"]
    for row in audit["rows"]:
        assert 0.0 <= row["deletion_area"] <= 1.0 and 0.0 <= row["insertion_area"] <= 1.0
        assert row["score"] == pytest.approx(row["insertion_area"] - row["deletion_area"], abs=2e-4)
        assert row["sanity_correlation"] is None or -1.0 <= row["sanity_correlation"] <= 1.0
        assert not any(isinstance(value, float) and math.isnan(value) for value in row.values())  # JSON-safe
    assert validate_sidecar({SIDECAR_KEY: audit}, "model.json")[SIDECAR_KEY] == audit


@pytest.mark.parametrize("audit", [
    [], {"cells": 2}, {"cells": -1, "rows": []}, {"cells": 1, "rows": [{"method": "gradcam"}]},
    {"cells": 1, "rows": [{"method": "gradcam", "layer": "x", "score": 7.0}]},
    {"cells": 1, "rows": [{"method": "gradcam", "layer": "x", "score": "0.5"}]},
    {"cells": 1, "rows": [{"method": "gradcam", "layer": "x"}] * 65},
])
def test_a_malformed_audit_is_refused_with_the_command_that_rewrites_it(audit):
    with pytest.raises(ModelError, match="explanation_audit.*python -m core.cli.audit"):
        validate_sidecar({SIDECAR_KEY: audit}, "model.json")
