"""ui.explain_cache.answer_gradcam: the one Grad-CAM overlay of an answer, drawn alike by the Quiz's reveal and the report."""
from __future__ import annotations

import numpy as np
import pytest

from core import config
from core.explain.heatmaps import overlay
from paths import SAMPLE_CELL
from requirements import require_sample_cell


@pytest.fixture(scope="module")
def classified(tiny_model_path):
    """(classifier, UploadOutcome) of the real sample cell under the tiny model."""
    from ui import cache, classify_widgets

    require_sample_cell()
    classifier = cache._classifier(str(tiny_model_path), cache.model_stamp(tiny_model_path))
    outcome = classify_widgets.process_upload(SAMPLE_CELL.name, SAMPLE_CELL.read_bytes(), classifier)
    assert outcome.error is None
    return classifier, outcome


def test_the_overlay_is_the_answers_gradcam_at_the_shared_opacity(classified):
    from ui import explain_cache

    classifier, outcome = classified
    model_input = outcome.analysis.stages.model_input
    heatmap, overlay_rgb = explain_cache.answer_gradcam(classifier, outcome.digest, model_input, outcome.assessment.label)
    assert heatmap.shape == model_input.shape[:2] and heatmap.dtype == np.float32
    assert 0.0 <= heatmap.min() and heatmap.max() <= 1.0
    assert overlay_rgb.shape == model_input.shape and overlay_rgb.dtype == np.uint8
    np.testing.assert_array_equal(overlay_rgb, overlay(model_input, heatmap, explain_cache.ANSWER_OVERLAY_OPACITY))
    explained = explain_cache.get_explainer(classifier).explain(model_input, "gradcam", outcome.assessment.label,
                                                                config.LAST_CONV_LAYER)
    np.testing.assert_allclose(heatmap, explained, atol=1e-6)  # The Explain page's Grad-CAM, not another map.


def test_the_report_draws_the_same_overlay(classified):
    from core.explain.explainer import Explainer
    from ui import explain_cache, result_widgets

    classifier, outcome = classified
    target = outcome.analysis.prediction.label
    _, expected = explain_cache.answer_gradcam(classifier, outcome.digest, outcome.analysis.stages.model_input, target)
    drawn, note = result_widgets.heatmap_overlay(classifier, Explainer(classifier.loaded.model, classifier.lock), outcome)
    np.testing.assert_array_equal(drawn, expected)
    assert note  # Its faithfulness, in words.


def test_a_failing_explanation_gives_none_not_an_exception(classified):
    from ui import explain_cache

    class Broken:
        def explain(self, *args, **kwargs):
            raise RuntimeError("no gradients")

    classifier, outcome = classified
    assert explain_cache.answer_gradcam(classifier, "not-cached-" + outcome.digest, outcome.analysis.stages.model_input,
                                        "all", explainer=Broken()) is None
