"""Tests for `python -m core.explain`: the three files per image, per-file errors, exit codes."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from core.cli.explain import main
from core.imaging.decode import load_image
from core.model.network import to_model_array
from core.imaging.preprocess import preprocess_cell
from core.data.synthetic_cells import make_subject_style, render_cell

SIZE = 64  # conftest.TINY_IMAGE_SIZE


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    folder = tmp_path_factory.mktemp("images")
    good = folder / "cell.png"
    rng = np.random.default_rng(0)
    cell_rgb = render_cell(rng, "all", make_subject_style(rng, "all"), image_size=120)
    cv2.imwrite(str(good), cv2.cvtColor(cell_rgb, cv2.COLOR_RGB2BGR))
    corrupt = folder / "corrupt.bmp"
    corrupt.write_bytes(good.read_bytes()[:200])
    return good, corrupt


def run(capsys, *argv):
    status = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return status, captured.out.strip().splitlines(), captured.err


@pytest.mark.slow
def test_writes_overlay_heatmap_and_exact_model_input(capsys, tiny_model_path, images, tmp_path):
    good, corrupt = images
    status, lines, _ = run(capsys, "--model", tiny_model_path, "--method", "gradcam++", "--target", "hem",
                           "--out", tmp_path / "out", good, corrupt)
    assert status == 1  # one file failed, the other still succeeded
    assert lines[0].startswith(f"{good}\t") and lines[0].split("\t")[1] in ("all", "hem")
    assert lines[1].startswith(f"{corrupt}\tERROR\t") and "corrupt.bmp" in lines[1]
    overlay_bgr = cv2.imread(str(tmp_path / "out" / "cell.overlay.png"))
    heatmap = np.load(tmp_path / "out" / "cell.heatmap.npy")
    model_input = np.load(tmp_path / "out" / "cell.input.npy")
    assert overlay_bgr.shape == (SIZE, SIZE, 3)
    assert heatmap.dtype == np.float32 and heatmap.shape == (SIZE, SIZE)
    assert heatmap.min() >= 0.0 and heatmap.max() <= 1.0
    expected = to_model_array(preprocess_cell(load_image(good).image_rgb, SIZE).model_input)
    assert model_input.dtype == np.float32
    np.testing.assert_array_equal(model_input, expected)
    assert not (tmp_path / "out" / "corrupt.heatmap.npy").exists()


@pytest.mark.slow
def test_all_good_files_exit_zero_and_share_no_names(capsys, tiny_model_path, images, tmp_path):
    good, _ = images
    status, lines, _ = run(capsys, "--model", tiny_model_path, "--method", "layercam", "--layer", "conv4_block6_out",
                           "--out", tmp_path, good, good)
    assert status == 0 and len(lines) == 2
    assert (tmp_path / "cell.heatmap.npy").exists() and (tmp_path / "cell-2.heatmap.npy").exists()


def test_missing_model_is_a_usage_error(capsys, images, tmp_path):
    status, lines, err = run(capsys, "--model", tmp_path / "none.keras", "--out", tmp_path, images[0])
    assert status == 2 and not lines and "No model file" in err


def test_unknown_layer_is_a_usage_error(capsys, tiny_model_path, images, tmp_path):
    status, lines, err = run(capsys, "--model", tiny_model_path, "--layer", "conv9_block1_out", "--out", tmp_path, images[0])
    assert status == 2 and not lines and "Unknown layer" in err


def test_unknown_method_is_refused_by_the_parser(capsys, images, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(["--method", "gradcam3", "--out", str(tmp_path), str(images[0])])
    assert exit_info.value.code == 2 and "invalid choice" in capsys.readouterr().err


def test_help_says_what_the_input_file_holds(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "float32 array exactly as fed to the model" in " ".join(capsys.readouterr().out.split())


@pytest.mark.slow
def test_gradcam_answer_and_map_come_from_one_pass_and_explain_the_predicted_class(capsys, tiny_model_path, images,
                                                                                  tmp_path, monkeypatch):
    """By default the map is of the predicted class, and the same gradient pass gave that answer:
    no separate classification pass runs (Classifier.probabilities is never called)."""
    from core.explain.explainer import Explainer
    from core.model.inference import Classifier
    from core.model.store import load_classifier

    good, _ = images
    classifier = Classifier(load_classifier(tiny_model_path))
    expected_probability = float(classifier.probabilities(preprocess_cell(load_image(good).image_rgb, SIZE).model_input[None])[0])
    predicted = classifier.decide(expected_probability).label
    expected = Explainer(classifier.loaded.model).explain(preprocess_cell(load_image(good).image_rgb, SIZE).model_input,
                                                          "gradcam", predicted)

    def no_second_pass(*args, **kwargs):
        raise AssertionError("a separate classification pass ran")

    monkeypatch.setattr(Classifier, "probabilities", no_second_pass)
    monkeypatch.setattr(Classifier, "features_and_probabilities", no_second_pass)
    status, lines, _ = run(capsys, "--model", tiny_model_path, "--out", tmp_path, good)
    assert status == 0 and lines[0].split("\t")[1] == predicted
    assert float(lines[0].split("\t")[2]) == pytest.approx(expected_probability, abs=1e-4)
    np.testing.assert_allclose(np.load(tmp_path / "cell.heatmap.npy"), expected, atol=1e-6)
