"""The original method's preprocessing: stages, shapes, defined outcomes for hard inputs."""

import cv2
import numpy as np
import pytest

from core.errors import PreprocessingError
from core.imaging.preprocess import crop_padded, model_input_for, preprocess_cell, square_box
from paths import SAMPLE_CELL
from requirements import require_sample_cell

SAMPLE = SAMPLE_CELL


def disc_image(radius: int = 60, center=(225, 225), size: int = 450) -> np.ndarray:
    """(size, size, 3) uint8 RGB: a textured violet disc on black."""
    image_rgb = np.zeros((size, size, 3), np.uint8)
    cv2.circle(image_rgb, center, radius, (120, 60, 140), -1)
    noise = np.random.default_rng(0).integers(0, 30, image_rgb.shape, dtype=np.uint8)
    return np.where(image_rgb > 0, image_rgb + noise, 0).astype(np.uint8)


def test_stages_have_documented_shapes_and_types():
    result = preprocess_cell(disc_image(), image_size=224)
    assert result.model_input.shape == (224, 224, 3) and result.model_input.dtype == np.uint8
    assert result.grayscale.shape == result.clahe.shape == result.mask.shape == (450, 450)
    assert set(np.unique(result.mask)) <= {0, 255}
    assert result.fallback is None


def test_crop_is_square_around_the_cell_with_a_margin():
    result = preprocess_cell(disc_image(radius=50, center=(150, 300)))
    x0, y0, x1, y1 = result.crop_box
    assert x1 - x0 == y1 - y0
    assert x0 < 100 and x1 > 200 and y0 < 250 and y1 > 350
    assert x1 - x0 < 130  # Tight: the cell fills most of the crop.


def test_cell_fills_the_model_input():
    result = preprocess_cell(disc_image(radius=40))
    filled = (result.model_input.max(axis=2) > 20).mean()
    assert 0.6 < filled < 0.85  # A disc in its bounding square covers pi/4 of it.


def test_crop_past_the_edge_is_padded_black():
    image_rgb = disc_image(radius=60, center=(30, 30))
    result = preprocess_cell(image_rgb)
    assert result.model_input.shape == (224, 224, 3)
    assert result.model_input[0, 0].sum() == 0


@pytest.mark.parametrize("value", [0, 128, 255])
def test_blank_or_uniform_image_is_a_clear_error(value):
    with pytest.raises(PreprocessingError, match="blank or uniform"):
        preprocess_cell(np.full((100, 100, 3), value, np.uint8))


def bright_field_with_a_speck() -> np.ndarray:
    image_rgb = np.full((200, 200, 3), 200, np.uint8)
    image_rgb[100:103, 100:103] = 0
    return image_rgb


def black_field_with_a_speck() -> np.ndarray:
    image_rgb = np.zeros((200, 200, 3), np.uint8)
    image_rgb[100:102, 100:102] = 255
    return image_rgb


@pytest.mark.parametrize("make_image", [bright_field_with_a_speck, black_field_with_a_speck])
def test_mask_covering_everything_or_nothing_falls_back_to_the_whole_image(make_image):
    result = preprocess_cell(make_image(), image_size=64)
    assert result.fallback is not None and "whole image" in result.fallback
    assert result.model_input.shape == (64, 64, 3)
    assert result.crop_box == (0, 0, 200, 200)


@pytest.mark.parametrize("bad", [np.zeros((10, 10), np.uint8), np.zeros((10, 10, 4), np.uint8), np.zeros((10, 10, 3), np.float32)])
def test_wrong_array_is_a_clear_error(bad):
    with pytest.raises(PreprocessingError, match="Expected an RGB uint8 image"):
        preprocess_cell(bad)


def test_square_box_and_crop_padded_agree():
    mask = np.zeros((50, 80), np.uint8)
    mask[10:20, 30:70] = 255
    box = square_box(mask)
    assert box[2] - box[0] == box[3] - box[1]
    crop = crop_padded(np.ones((50, 80, 3), np.uint8), box)
    assert crop.shape[:2] == (box[3] - box[1], box[2] - box[0])


def test_real_sample_cell_is_found():
    require_sample_cell()
    image_rgb = cv2.cvtColor(cv2.imread(str(SAMPLE)), cv2.COLOR_BGR2RGB)
    result = preprocess_cell(image_rgb)
    assert result.fallback is None and 0.05 < result.mask_fraction < 0.6
    assert np.array_equal(model_input_for(image_rgb), result.model_input)
