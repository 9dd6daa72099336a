"""Deletion and insertion curves against a hand-computed example, and on the tiny ResNet50."""
from __future__ import annotations

import numpy as np
import pytest

from core.explain import faithfulness as faith
from core.imaging.preprocess import model_input_mask, preprocess_cell

# A 4x4 image, all red; heat falls in raster order (pixel 0 hottest). The "model" answers the
# mean red of the top half (pixels 0-7) / 255, and removed pixels become black.
IMAGE = np.zeros((4, 4, 3), np.uint8)
IMAGE[..., 0] = 255
HEAT = np.linspace(1.0, 0.0, 16, dtype=np.float32).reshape(4, 4)
BLACK = np.zeros_like(IMAGE)


class TopHalfRed:
    """P = mean red of the top two rows / 255; counts its calls and the images it was given."""

    def __init__(self):
        self.batches = []

    def __call__(self, batch):
        self.batches.append(batch.shape)
        return batch[:, :2, :, 0].reshape(len(batch), -1).mean(axis=1) / 255.0


def test_curves_match_the_hand_computed_example_from_one_batch():
    model = TopHalfRed()
    result = faith.faithfulness(model, IMAGE, HEAT, fill_rgb=BLACK)
    assert model.batches == [(32, 4, 4, 3)]  # all 16 steps of both curves in one forward pass
    k = np.arange(17)
    np.testing.assert_allclose(result.deletion, np.maximum(8 - k, 0) / 8)  # each step removes one top pixel
    np.testing.assert_allclose(result.insertion, np.minimum(k, 8) / 8)
    # Deletion falls linearly from 1 to 0 over the first half: area 0.25. Insertion rises to 1 at half: 0.25 + 0.5.
    assert result.deletion_area == pytest.approx(0.25)
    assert result.insertion_area == pytest.approx(0.75)
    assert result.score == pytest.approx(0.5)
    assert result.sentence().startswith("Removing the hottest 25% of the cell's pixels drops P(ALL) from 1.00 to 0.50; "
                                        "revealing only them (the rest of the cell blurred) gives 0.50.")


def test_a_model_that_ignores_the_pixels_gives_flat_curves_and_says_so():
    result = faith.faithfulness(lambda batch: np.full(len(batch), 0.99), IMAGE, HEAT, fill_rgb=BLACK)
    assert result.flat and result.score == pytest.approx(0.0)
    assert "leaves P(ALL) at 0.99" in result.sentence() and "cannot tell one map from another" in result.sentence()
    assert not faith.faithfulness(TopHalfRed(), IMAGE, HEAT, fill_rgb=BLACK).flat


def test_the_reverse_ranking_is_unfaithful():
    result = faith.faithfulness(TopHalfRed(), IMAGE, 1.0 - HEAT, fill_rgb=BLACK)
    assert result.deletion_area == pytest.approx(0.75) and result.insertion_area == pytest.approx(0.25)
    assert result.score == pytest.approx(-0.5)


def test_only_the_cell_is_ranked_and_the_background_never_changes():
    mask = np.zeros((4, 4), bool)
    mask[:2] = True  # the cell is the top half: 8 pixels, two per step with 4 steps
    result = faith.faithfulness(TopHalfRed(), IMAGE, 1.0 - HEAT, mask, steps=4, fill_rgb=BLACK)
    np.testing.assert_allclose(result.deletion, [1.0, 0.75, 0.5, 0.25, 0.0])
    np.testing.assert_allclose(result.fractions, [0.0, 0.25, 0.5, 0.75, 1.0])
    batch = faith.curve_inputs(IMAGE, HEAT, mask, BLACK, steps=4)
    assert (batch[:, 2:] == IMAGE[2:]).all()
    assert result.heat_inside == pytest.approx(float((1 - HEAT)[:2].sum() / (1 - HEAT).sum()))


def test_removed_pixels_take_the_blurred_image_by_default():
    image = np.zeros((32, 32, 3), np.uint8)
    image[8:24, 8:24] = 200
    heatmap = np.zeros((32, 32), np.float32)
    batch = faith.curve_inputs(image, heatmap, None, faith.blurred(image), steps=2)
    np.testing.assert_array_equal(batch[2], faith.blurred(image))  # everything removed: the blurred image
    assert 0 < faith.blurred(image)[8, 8, 0] < 200  # neither black nor the original at the square's edge


def test_a_map_on_the_background_is_said_to_point_outside_the_cell():
    mask = np.zeros((4, 4), bool)
    mask[:2] = True
    outside = faith.faithfulness(TopHalfRed(), IMAGE, 1.0 - HEAT, mask, steps=4, fill_rgb=BLACK)
    inside = faith.faithfulness(TopHalfRed(), IMAGE, HEAT, mask, steps=4, fill_rgb=BLACK)
    assert outside.heat_inside < 0.5 and "points mostly outside the cell" in outside.outside_warning()
    assert inside.outside_warning() is None
    assert np.isnan(faith.heat_inside(HEAT, None)) and np.isnan(faith.heat_inside(np.zeros((4, 4)), mask))


def test_a_heatmap_of_the_wrong_size_is_refused():
    with pytest.raises(ValueError, match="image's height and width"):
        faith.faithfulness(TopHalfRed(), IMAGE, np.zeros((8, 8)))


def test_on_the_tiny_resnet_the_curves_start_and_end_at_the_image_and_the_blurred_cell(explainer, cell):
    from explain_inputs import SIZE

    mask = model_input_mask(preprocess_cell(cell, SIZE), SIZE)
    assert mask is not None and mask.shape == (SIZE, SIZE) and 0.1 < mask.mean() < 0.9
    heatmap = explainer.explain(cell, "gradcam", "hem")
    result = faith.faithfulness(lambda batch: explainer.probabilities(batch, "hem"), cell, heatmap, mask, "hem")
    own = explainer.probabilities(cell[None], "hem")[0]
    assert result.deletion[0] == pytest.approx(own, abs=1e-5) and result.insertion[-1] == pytest.approx(own, abs=1e-5)
    assert result.deletion[-1] == pytest.approx(result.insertion[0])
    assert own == pytest.approx(1.0 - explainer.probabilities(cell[None], "all")[0], abs=1e-5)
    assert 0.0 <= result.deletion_area <= 1.0 and 0.0 <= result.insertion_area <= 1.0


def test_a_known_own_probability_leaves_the_image_out_of_the_batch():
    model = TopHalfRed()
    result = faith.faithfulness(model, IMAGE, HEAT, fill_rgb=BLACK, own_probability=0.9)
    assert model.batches == [(31, 4, 4, 3)]  # the image itself is not run again
    assert result.deletion[0] == pytest.approx(0.9) and result.insertion[-1] == pytest.approx(0.9)
    k = np.arange(1, 17)
    np.testing.assert_allclose(result.deletion[1:], np.maximum(8 - k, 0) / 8)  # the other steps as before
    np.testing.assert_allclose(result.insertion[:-1], np.minimum(np.arange(16), 8) / 8)


@pytest.mark.slow
def test_in_bfloat16_the_curves_start_at_the_float32_answer_without_another_pass(model, cell, monkeypatch):
    """Fast batches (forced here, emulated where the CPU lacks them): the masked copies in bfloat16, the image float32."""
    from explain_inputs import SIZE

    from core.explain.explainer import Explainer

    monkeypatch.setenv("LEUKEMIA_BATCH_PRECISION", "bfloat16")
    explainer = Explainer(model)
    assert explainer.batch_precision == "bfloat16"
    stages = preprocess_cell(cell, SIZE)
    heatmap = explainer.explain(stages.model_input, "gradcam", "hem")  # its pass gives the float32 P(all)
    calls = []
    original = explainer.probabilities
    monkeypatch.setattr(explainer, "probabilities", lambda batch, target="all", fast=False: calls.append((len(batch), fast))
                        or original(batch, target, fast))
    result = faith.heatmap_faithfulness(explainer, stages, heatmap, "hem")
    assert calls == [(2 * faith.STEPS - 1, True)]
    own = float(original(stages.model_input[None], "hem")[0])
    assert result.deletion[0] == pytest.approx(own, abs=1e-5) and result.insertion[-1] == pytest.approx(own, abs=1e-5)
    precise = faith.faithfulness(lambda batch: original(batch, "hem"), stages.model_input, heatmap,
                                 model_input_mask(stages, SIZE), "hem")
    np.testing.assert_allclose(result.deletion, precise.deletion, atol=0.02)
    np.testing.assert_allclose(result.insertion, precise.insertion, atol=0.02)
