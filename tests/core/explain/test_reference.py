"""The compiled maps match tf-keras-vis 0.8.7 (the reference) on the same tiny model and the two-logit view."""
from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from explain_inputs import correlation, log_odds_score

from core import config
from core.data import labels

# tf-keras-vis passes inputs as a list to a model whose input is a single tensor: harmless.
pytestmark = pytest.mark.filterwarnings("ignore:The structure of `inputs`")


def test_class_logit_view_gives_a_softmax_that_separates_the_classes(model, explainer, scaled):
    logits = explainer.view(scaled).numpy()
    probability_all = float(model(scaled)[0, 0])
    assert logits[0, 0] == 0.0
    np.testing.assert_allclose(tf.nn.softmax(logits).numpy()[0], [1 - probability_all, probability_all], atol=1e-5)


# Agreement of the compiled paths with tf-keras-vis itself.


def spread_2x2(gradients):
    """tf-keras-vis gradient modifier: each 2x2 cell of (N, h, w, C) gradients gets its top-left value."""
    return tf.repeat(tf.repeat(gradients[:, ::2, ::2], 2, axis=1), 2, axis=2)


@pytest.mark.parametrize("method", ["gradcam", "gradcam++", "layercam"])
@pytest.mark.parametrize("layer", ["conv4_block6_out", "conv5_block3_out"])
def test_compiled_gradient_cams_match_tf_keras_vis(explainer, cell, scaled, method, layer):
    """Stage 4 feeds stride-2 1x1 convolutions, so its gradients are spread over 2x2 cells (views.spread_strided_gradients)."""
    from tf_keras_vis.gradcam import Gradcam
    from tf_keras_vis.gradcam_plus_plus import GradcamPlusPlus
    from tf_keras_vis.layercam import Layercam

    reference = {"gradcam": Gradcam, "gradcam++": GradcamPlusPlus, "layercam": Layercam}[method](explainer.view, clone=False)
    spread = spread_2x2 if layer == "conv4_block6_out" else (lambda gradients: gradients)
    modifier = (lambda gradients: tf.nn.relu(spread(gradients))) if method == "layercam" else spread
    for target in ("all", "hem"):
        expected = reference(log_odds_score(target), scaled, penultimate_layer=layer, seek_penultimate_conv_layer=False,
                             gradient_modifier=modifier)[0]
        ours = explainer.explain(cell, method, target, layer)
        np.testing.assert_allclose(ours, expected, atol=2e-3)


@pytest.mark.slow
def test_compiled_scorecam_matches_tf_keras_vis_on_the_two_logit_view(explainer, cell, scaled):
    from tf_keras_vis.scorecam import Scorecam
    from tf_keras_vis.utils.scores import CategoricalScore

    score = CategoricalScore(labels.CLASS_NAMES.index("hem"))  # column 0 of [0, z]
    expected = Scorecam(explainer.view, clone=False)(
        score, scaled, penultimate_layer=config.LAST_CONV_LAYER, seek_penultimate_conv_layer=False, max_N=64
    )[0]
    assert correlation(explainer.explain(cell, "scorecam", "hem"), expected) > 0.99


def test_compiled_smoothgrad_matches_tf_keras_vis_with_the_same_noise(explainer, cell, scaled, monkeypatch):
    from tf_keras_vis.saliency import Saliency

    monkeypatch.setattr(explainer, "smooth_samples", 4)
    np.random.seed(explainer.seed)  # tf-keras-vis draws from NumPy's global generator
    saliency = Saliency(explainer.view, clone=False)
    expected = saliency(log_odds_score("all"), scaled, smooth_samples=4, smooth_noise=explainer.smooth_noise)[0]
    assert correlation(explainer.explain(cell, "smoothgrad"), expected) > 0.99
