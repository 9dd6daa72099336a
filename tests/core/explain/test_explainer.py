"""The explainer and the sanity check on a tiny random ResNet50 (96 px); tf-keras-vis comparisons are in test_reference.py."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import keras
import numpy as np
import pytest

from core import config
from core.explain import views
from core.explain.explainer import LAYERS, METHODS, TARGETS, Explainer, benchmark_methods
from core.explain.sanity import rank_correlation, randomized_explainer, randomized_top_copy, sanity_check
from explain_inputs import SIZE, log_odds_score


# Score-CAM (one pass per channel) and SmoothGrad (one gradient per noisy copy) take seconds each: the slow part.
SLOW_METHODS = ("scorecam", "smoothgrad")


def with_slow_marked(methods):
    """The method names as pytest params, the slow methods marked `slow`."""
    return [pytest.param(method, marks=pytest.mark.slow) if method in SLOW_METHODS else method for method in methods]


@pytest.mark.parametrize("method", with_slow_marked(METHODS))
def test_heatmap_is_square_float32_in_unit_range(explainer, cell, method):
    heatmap = explainer.explain(cell, method)
    assert heatmap.shape == (SIZE, SIZE) and heatmap.dtype == np.float32
    assert np.isfinite(heatmap).all() and heatmap.min() >= 0.0 and heatmap.max() <= 1.0
    assert heatmap.max() > 0.5  # not flat on this image


@pytest.mark.parametrize("predicted", ["all", "hem"])
@pytest.mark.parametrize("method", with_slow_marked(["gradcam", "scorecam"]))
def test_defaults_are_gradcam_for_the_predicted_class_on_the_last_conv_layer(model, explainer, cell, scaled, predicted, method):
    """`explain`'s default target is the predicted class (the CLI's --target default too; it used to be "all"):
    explaining the predicted class explicitly equals the default, for one-pass gradient maps and the others."""
    bias = model.get_layer("logit").bias
    original = bias.numpy()
    logit = float(explainer.view(scaled)[0, 1])  # z = log-odds of "all"
    # Shift the logit to +-2 so this cell is predicted `predicted`; the logit's gradient ignores the bias.
    bias.assign(original + (2.0 if predicted == "all" else -2.0) - logit)
    try:
        assert ("all" if float(model(scaled)[0, 0]) >= 0.5 else "hem") == predicted
        default = explainer.explain(cell) if method == "gradcam" else explainer.explain(cell, method)
        explicit = {target: explainer.explain(cell, method, target, config.LAST_CONV_LAYER) for target in TARGETS}
    finally:
        bias.assign(original)
    np.testing.assert_array_equal(default, explicit[predicted])
    assert not np.allclose(explicit["all"], explicit["hem"], atol=1e-3)  # so the default is not the other target


def test_one_gradient_pass_gives_the_answer_and_both_classes_maps(explainer, cell, scaled):
    gradient_pass = explainer.gradient_pass(cell)
    assert gradient_pass.probability_all == pytest.approx(float(explainer.model(scaled)[0, 0]), abs=1e-5)
    assert gradient_pass.features is not None and gradient_pass.features.shape == (2048,)
    for method in ("gradcam", "gradcam++", "layercam"):
        for target in TARGETS:
            np.testing.assert_allclose(explainer.cam(gradient_pass, method, target), explainer.explain(cell, method, target), atol=1e-6)


@pytest.mark.parametrize("method", ["gradcam", "gradcam++", "scorecam", "layercam"])
def test_target_hem_differs_from_all(explainer, cell, method):
    assert not np.allclose(explainer.explain(cell, method, "all"), explainer.explain(cell, method, "hem"), atol=1e-3)


def test_smoothgrad_is_the_same_for_both_classes(explainer, cell):
    # |d(-z)/dx| = |dz/dx|: with one logit, absolute gradients cannot tell the classes apart.
    all_map, hem_map = explainer.explain(cell, "smoothgrad", "all"), explainer.explain(cell, "smoothgrad", "hem")
    np.testing.assert_allclose(all_map, hem_map, atol=1e-6)


def test_layer_choice_is_honoured(explainer, cell):
    stage_4 = explainer.explain(cell, "gradcam", "all", "conv4_block6_out")
    stage_5 = explainer.explain(cell, "gradcam", "all", "conv5_block3_out")
    assert stage_4.shape == stage_5.shape == (SIZE, SIZE)
    assert not np.allclose(stage_4, stage_5, atol=0.05)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"method": "gradcam3"}, "Unknown method"),
        ({"target": "ALL"}, "Unknown target"),
        ({"layer": "conv9_block1_out"}, "Unknown layer"),
        ({"layer": "avg_pool"}, "Unknown layer"),  # a 2-D output has no map
    ],
)
def test_bad_arguments_are_refused(explainer, cell, kwargs, message):
    with pytest.raises(ValueError, match=message):
        explainer.explain(cell, **kwargs)


@pytest.mark.parametrize("bad_input", [np.zeros((SIZE, SIZE, 3), np.float32), np.zeros((SIZE + 1, SIZE, 3), np.uint8)])
def test_wrong_input_is_refused(explainer, bad_input):
    with pytest.raises(ValueError, match="model input"):
        explainer.explain(bad_input)


# The traps.


def test_nested_model_is_refused():
    inner = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(2, 3, name="conv")], name="backbone")
    inputs = keras.Input((8, 8, 3))
    features = keras.layers.GlobalAveragePooling2D()(inner(inputs))
    nested = keras.Model(inputs, keras.layers.Dense(1, name="logit")(features))
    with pytest.raises(ValueError, match="nests other models.*backbone"):
        Explainer(nested)


def test_model_without_logit_layer_is_refused():
    inputs = keras.Input((8, 8, 3))
    features = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(2, 3)(inputs))
    with pytest.raises(ValueError, match="no layer named 'logit'"):
        Explainer(keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(features)))


def test_named_layer_is_used_not_the_conv_before_it(explainer, cell, scaled):
    from tf_keras_vis.gradcam import Gradcam

    gradcam = Gradcam(explainer.view, clone=False)
    ours = explainer.explain(cell, "gradcam", "all", "conv5_block3_out")
    named = gradcam(log_odds_score("all"), scaled, penultimate_layer="conv5_block3_out", seek_penultimate_conv_layer=False)[0]
    # By default tf-keras-vis silently moves to the last Conv2D before the named layer (conv5_block3_3_conv).
    sought = gradcam(log_odds_score("all"), scaled, penultimate_layer="conv5_block3_out")[0]
    np.testing.assert_allclose(ours, named, atol=1e-3)
    assert not np.allclose(ours, sought, atol=0.05)


def test_saturated_sigmoid_does_not_blank_the_map(model, explainer, cell, scaled):
    from tf_keras_vis.gradcam import Gradcam

    before = explainer.explain(cell)
    bias = model.get_layer("logit").bias
    original = bias.numpy()
    bias.assign(original + 40.0)  # P(all) rounds to exactly 1.0 in float32: its gradient is 0.
    try:
        assert float(model(scaled)[0, 0]) == 1.0
        through_sigmoid = Gradcam(model, clone=False)(
            lambda output: output[:, 0], scaled, penultimate_layer=config.LAST_CONV_LAYER, seek_penultimate_conv_layer=False
        )[0]
        after = explainer.explain(cell)
    finally:
        bias.assign(original)
    assert through_sigmoid.max() == 0.0  # the trap: scoring the sigmoid gives a blank map
    np.testing.assert_allclose(after, before, atol=1e-4)  # the logit's gradient ignores the bias


@pytest.mark.parametrize("cam", [np.zeros((3, 3)), np.full((3, 3), 7.0), np.array([[np.nan, 1.0], [np.inf, 0.0]])])
def test_flat_or_broken_maps_become_finite_heatmaps(cam):
    heatmap = views.to_heatmap(cam, SIZE)
    assert heatmap.shape == (SIZE, SIZE) and heatmap.dtype == np.float32
    assert np.isfinite(heatmap).all() and heatmap.min() >= 0.0 and heatmap.max() <= 1.0


def test_rank_correlation_of_a_flat_map_is_nan():
    assert np.isnan(rank_correlation(np.zeros((4, 4)), np.eye(4)))
    assert rank_correlation(np.eye(4), np.eye(4)) == pytest.approx(1.0)


# Sanity check, thread safety, speed helper.


@pytest.mark.slow
def test_randomized_copy_changes_only_the_top_and_the_heatmap(model, explainer, cell):
    copy = randomized_top_copy(model)
    def kernels(name: str) -> tuple[np.ndarray, np.ndarray]:
        return copy.get_layer(name).kernel.numpy(), model.get_layer(name).kernel.numpy()

    assert not np.allclose(*kernels("logit")) and not np.allclose(*kernels("conv5_block3_1_conv"))
    np.testing.assert_array_equal(*kernels("conv5_block2_3_conv"))  # below the randomised block
    randomized = randomized_explainer(explainer)
    trained_map, random_map = explainer.explain(cell, "gradcam", "hem"), randomized.explain(cell, "gradcam", "hem")
    assert not np.allclose(trained_map, random_map, atol=0.05)
    rho = sanity_check(explainer, cell, "gradcam", "hem", randomized=randomized)
    assert -1.0 <= rho < 0.95


class WatchedLock:
    """A lock that says when someone is waiting to enter it, so a test needs no sleep."""

    def __init__(self) -> None:
        self.inner = threading.Lock()
        self.someone_waits = threading.Event()

    def __enter__(self) -> "WatchedLock":
        self.someone_waits.set()
        self.inner.acquire()
        return self

    def __exit__(self, *exc_info) -> None:
        self.inner.release()


def test_explain_waits_for_the_shared_lock_and_goes_on_once_it_is_free(model, explainer, cell):
    lock = WatchedLock()
    shared = Explainer(model, lock)
    expected = explainer.explain(cell, "gradcam", "hem")
    results = []
    with lock:  # another session holds the model
        lock.someone_waits.clear()
        worker = threading.Thread(target=lambda: results.append(shared.explain(cell, "gradcam", "hem")))
        worker.start()
        assert lock.someone_waits.wait(120), "explain never asked for the shared lock"
        assert results == [] and worker.is_alive()  # it cannot finish while the lock is held
    worker.join(120)
    assert not worker.is_alive() and len(results) == 1
    np.testing.assert_allclose(results[0], expected, atol=1e-6)


@pytest.mark.slow
def test_four_threads_at_once_match_serial_results(explainer, cell):
    jobs = [(method, target) for method in ("gradcam", "gradcam++", "layercam", "scorecam") for target in ("all", "hem")]
    serial = [explainer.explain(cell, method, target) for method, target in jobs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        parallel = list(pool.map(lambda job: explainer.explain(cell, *job), jobs))
    for expected, actual in zip(serial, parallel):
        np.testing.assert_allclose(actual, expected, atol=1e-6)


class ClockedExplainer:
    """Stands in for an Explainer: each call advances a fake clock by the next duration of its method."""

    def __init__(self, durations: dict[str, list[float]]) -> None:
        self.durations = {method: list(values) for method, values in durations.items()}
        self.now = 0.0
        self.calls: list[tuple] = []

    def perf_counter(self) -> float:
        return self.now

    def explain(self, model_input_rgb, method, target, layer):
        self.calls.append((method, target, layer))
        self.now += self.durations[method].pop(0)


def test_benchmark_methods_reports_the_median_after_an_untimed_first_call(monkeypatch, cell):
    import core.explain.explainer as explainer_module

    # The first call of each method traces its compiled function (slow); the median of the rest is reported.
    fake = ClockedExplainer({"gradcam": [100.0, 3.0, 1.0, 2.0], "layercam": [50.0, 7.0, 9.0, 5.0]})
    monkeypatch.setattr(explainer_module, "time", fake)
    seconds = benchmark_methods(fake, cell, repeats=3, methods=("gradcam", "layercam"), layer="conv4_block6_out")
    assert seconds == {"gradcam": 2.0, "layercam": 7.0}
    assert fake.calls == [("gradcam", "all", "conv4_block6_out")] * 4 + [("layercam", "all", "conv4_block6_out")] * 4


def test_benchmark_methods_times_the_real_explainer(explainer, cell):
    seconds = benchmark_methods(explainer, cell, repeats=1, methods=("gradcam",))
    assert list(seconds) == ["gradcam"] and seconds["gradcam"] > 0


def test_layer_choices_are_the_last_block_of_stages_3_to_5():
    assert set(LAYERS) == {"conv3_block4_out", "conv4_block6_out", "conv5_block3_out"}


@pytest.mark.parametrize("layer", ["conv3_block4_out", "conv4_block6_out"])
def test_stride_two_stages_get_gradients_at_one_position_in_four_and_maps_spread_them(explainer, cell, scaled, layer):
    """The grid of dots in Grad-CAM++ and LayerCAM on stages 3 and 4: the next stage's stride-2 1x1 convolutions."""
    import tensorflow as tf

    outputs = explainer._function("gradients", layer)(tf.constant(scaled), tf.constant(1))
    gradients = outputs[1].numpy()[0]  # (h, w, C)
    assert gradients[::2, ::2].any() and not gradients[1::2].any() and not gradients[:, 1::2].any()
    spread = views.spread_strided_gradients(gradients)
    assert (np.abs(spread).sum(axis=-1) > 0).all()
    np.testing.assert_array_equal(spread[1::2, 1::2], gradients[::2, ::2])
    cam = views.to_heatmap(np.maximum((outputs[0].numpy()[0] * np.maximum(spread, 0)).sum(-1), 0), SIZE)
    np.testing.assert_allclose(explainer.explain(cell, "layercam", "all", layer), cam, atol=1e-6)


def test_gradients_without_the_stride_pattern_are_left_alone():
    gradients = np.arange(2 * 2 * 3, dtype=np.float32).reshape(2, 2, 3)
    np.testing.assert_array_equal(views.spread_strided_gradients(gradients), gradients)
    np.testing.assert_array_equal(views.spread_strided_gradients(np.zeros((4, 4, 2))), np.zeros((4, 4, 2)))
