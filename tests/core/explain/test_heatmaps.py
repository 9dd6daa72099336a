"""Tests for core.explain.heatmaps: overlays and mapping a heatmap back onto the original image."""
import cv2
import numpy as np
import pytest

from core.explain.heatmaps import heatmap_on_original, overlay
from core.imaging.encode import png_bytes


def test_overlay_resizes_the_heatmap_to_the_image():
    image_rgb = np.full((50, 70, 3), 100, np.uint8)
    heatmap = np.linspace(0, 1, 16, dtype=np.float32).reshape(4, 4)
    blended = overlay(image_rgb, heatmap, opacity=0.5)
    assert blended.shape == (50, 70, 3) and blended.dtype == np.uint8
    np.testing.assert_array_equal(overlay(image_rgb, heatmap, opacity=0.0), image_rgb)
    with pytest.raises(ValueError, match="opacity"):
        overlay(image_rgb, heatmap, opacity=1.5)
    assert png_bytes(blended).startswith(b"\x89PNG")


def test_heatmap_on_original_inside_the_image():
    heatmap = np.random.default_rng(0).random((32, 32)).astype(np.float32)
    placed = heatmap_on_original(heatmap, (10, 20, 50, 60), (100, 80, 3))
    assert placed.shape == (100, 80) and placed.dtype == np.float32
    np.testing.assert_allclose(placed[20:60, 10:50], cv2.resize(heatmap, (40, 40)))
    placed[20:60, 10:50] = 0
    assert not placed.any()


def test_heatmap_on_original_with_a_crop_box_past_the_edges():
    heatmap = np.random.default_rng(1).random((32, 32)).astype(np.float32)
    box = (-15, -10, 85, 90)  # 100 x 100, sticking out left, top and right of a 70 x 80 image
    placed = heatmap_on_original(heatmap, box, (70, 80))
    assert placed.shape == (70, 80) and 0.0 <= placed.min() and placed.max() <= 1.0
    full = cv2.resize(heatmap, (100, 100))
    np.testing.assert_allclose(placed, full[10:80, 15:95])
    assert not heatmap_on_original(heatmap, (200, 200, 240, 240), (70, 80)).any()  # wholly outside
