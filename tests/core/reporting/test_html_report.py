"""The HTML report: self-contained, escaped, and carrying everything a reader needs."""
from __future__ import annotations

import base64
import re

import cv2
import numpy as np
import pytest

from core import config
from core.model.analysis import CellAnalysis
from core.model.inference import Prediction
from core.imaging.preprocess import preprocess_cell
from core.reporting.html_report import build_report, png_data_uri
from core.data.synthetic_cells import make_subject_style, render_cell

METADATA = {"model_name": "leukemia_resnet50", "version": "1.2.0", "created": "2025-01-02T03:04:05+00:00",
            "file_name": "leukemia_resnet50.keras", "is_demo": True}
SHA = "ab" * 32


@pytest.fixture(scope="module")
def image_rgb() -> np.ndarray:
    rng = np.random.default_rng(3)
    return render_cell(rng, "all", make_subject_style(rng, "all"), 128)


def analysis_for(image_rgb: np.ndarray, scope_reasons: tuple[str, ...] = ()) -> CellAnalysis:
    prediction = Prediction("all", 0.8125, 0.42, tta_mean=0.79, tta_std=0.031)
    return CellAnalysis(prediction, preprocess_cell(image_rgb, 64), scope_reasons)


def embedded_images(report: str) -> list[np.ndarray]:
    uris = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', report)
    return [cv2.imdecode(np.frombuffer(base64.b64decode(uri), np.uint8), cv2.IMREAD_UNCHANGED) for uri in uris]


def test_report_holds_answer_threshold_uncertainty_model_and_notice(image_rgb):
    report = build_report("cell.bmp", image_rgb, analysis_for(image_rgb), METADATA, SHA)
    for text in ["ALL (leukemic blast)", "0.812", "0.420", "0.790 ± 0.031", "1.2.0", "2025-01-02T03:04:05+00:00",
                 SHA, "leukemia_resnet50", "Generated 20"]:
        assert text in report
    assert config.DISCLAIMER in report


def test_report_is_self_contained(image_rgb):
    report = build_report("cell.bmp", image_rgb, analysis_for(image_rgb), METADATA, SHA)
    assert not re.search(r'(src|href)="(?!data:)', report), "the report must not load anything from elsewhere"
    assert "<script" not in report


def test_images_round_trip_in_rgb_order(image_rgb):
    overlay_rgb = np.zeros((64, 64, 3), np.uint8)
    overlay_rgb[..., 0] = 255  # Pure red in RGB.
    report = build_report("cell.bmp", image_rgb, analysis_for(image_rgb), METADATA, SHA, overlay_rgb)
    original_bgr, model_input_bgr, overlay_bgr = embedded_images(report)
    assert np.array_equal(original_bgr[..., ::-1], image_rgb)
    assert model_input_bgr.shape == (64, 64, 3)
    assert overlay_bgr[0, 0].tolist() == [0, 0, 255]  # Still red once decoded as BGR.
    assert "Grad-CAM" in report


def test_report_without_overlay_has_two_images(image_rgb):
    report = build_report("cell.bmp", image_rgb, analysis_for(image_rgb), METADATA, SHA)
    assert len(embedded_images(report)) == 2


def test_user_text_is_escaped(image_rgb):
    hostile = '<img src=x onerror="alert(1)">.png'
    metadata = {**METADATA, "model_name": "<script>alert(2)</script>"}
    report = build_report(hostile, image_rgb, analysis_for(image_rgb, ("<b>bold</b> reason",)), metadata, SHA)
    assert "<img src=x" not in report and "<script>" not in report and "<b>bold</b>" not in report
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;.png" in report


def test_out_of_scope_reasons_are_shown(image_rgb):
    report = build_report("photo.jpg", image_rgb, analysis_for(image_rgb, ("The background is not dark.",)), METADATA, SHA)
    assert "Out of scope" in report and "The background is not dark." in report


def test_png_data_uri_refuses_float_images():
    with pytest.raises(ValueError, match="uint8"):
        png_data_uri(np.zeros((4, 4, 3), np.float32))


def test_the_overlay_caption_names_its_method_and_the_note_is_plain_text(image_rgb):
    overlay_rgb = np.zeros((64, 64, 3), np.uint8)
    report = build_report("cell.bmp", image_rgb, analysis_for(image_rgb), METADATA, SHA, overlay_rgb,
                          overlay_method="layercam", overlay_note="This map points mostly outside the cell <b>")
    assert "LayerCAM heatmap (where the model looked)" in report and "Grad-CAM heatmap" not in report
    assert "This map points mostly outside the cell &lt;b&gt;" in report


def test_similar_cells_name_their_side_in_the_one_vocabulary():
    """The index stores "train"/"validation"; people read "seen in training" and "held-out subjects"."""
    from core.model.assessment import Assessment
    from core.model.embedding import Neighbour
    from core.reporting.html_report import similar_cells_block

    cells = (Neighbour("a.bmp", "hem", "H3", "train", 0.1), Neighbour("b.bmp", "all", "7", "validation", 0.2))
    assessment = Assessment("hem", "hem", 0.1, 0.5, None, None, False, (), False, similar_cells=cells)
    block = similar_cells_block(assessment)
    assert "seen in training" in block and "held-out subjects" in block
    assert "<td>train</td>" not in block and "<td>validation</td>" not in block
