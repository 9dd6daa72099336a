"""Reinhard stain normalisation of cells on black: statistics over the cell only, moved to the reference's."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from core.data.synthetic_fields import FieldLayout, draw_field
from core.errors import PreprocessingError
from core.imaging.fields.cells import field_cells
from core.imaging.stain import ReinhardNormaliser, StainStats, stain_stats


def cell_on_black(colour, size: int = 64, radius: int = 20, seed: int = 0) -> np.ndarray:
    """A textured disc of `colour` (RGB) on black, (size, size, 3) uint8."""
    image = np.zeros((size, size, 3), np.uint8)
    cv2.circle(image, (size // 2, size // 2), radius, colour, -1)
    noise = np.random.default_rng(seed).normal(0, 12, image.shape)
    return np.where(image > 0, np.clip(image + noise, 1, 255), 0).astype(np.uint8)


def test_the_cell_takes_the_reference_statistics_and_the_background_stays_black():
    reference = [cell_on_black((90, 40, 100), seed=seed) for seed in range(3)]  # C-NMC-like purple.
    other_lab = cell_on_black((170, 150, 210), seed=5)  # A paler, bluer stain.
    normaliser = ReinhardNormaliser().fit(reference)
    moved = normaliser.transform(other_lab)
    assert moved.dtype == np.uint8 and moved.shape == other_lab.shape
    assert not moved[other_lab.max(axis=2) == 0].any()
    after = stain_stats([moved])
    assert np.allclose(after.mean, normaliser.reference.mean, atol=2.0)
    assert np.allclose(after.std, normaliser.reference.std, atol=2.0)
    before = stain_stats([other_lab])
    assert abs(before.mean[0] - normaliser.reference.mean[0]) > 20  # It was far off before.


def test_the_background_does_not_count():
    small, large = cell_on_black((90, 40, 100), size=64), cell_on_black((90, 40, 100), size=256)
    assert np.allclose(stain_stats([small]).mean, stain_stats([large]).mean, atol=1.0)


def test_without_a_reference_or_a_cell_it_says_so():
    with pytest.raises(ValueError, match="no reference stain"):
        ReinhardNormaliser().transform(cell_on_black((90, 40, 100)))
    with pytest.raises(PreprocessingError, match="black"):
        ReinhardNormaliser(StainStats((50, 150, 100), (10, 5, 5))).transform(np.zeros((8, 8, 3), np.uint8))


def test_field_cut_outs_can_be_normalised_after_segmentation():
    field = draw_field(FieldLayout(white_cells=((160, 150, 1.6, 3), (450, 300, 1.4, 1))), np.random.default_rng(0))
    normaliser = ReinhardNormaliser().fit([cell_on_black((90, 40, 100))])
    plain, _ = field_cells(field.image_rgb)
    normalised, _ = field_cells(field.image_rgb, normaliser)
    assert [cell.found.box for cell in plain] == [cell.found.box for cell in normalised]
    for before, after in zip(plain, normalised):
        assert np.array_equal(before.cell_rgb.any(axis=2), after.cell_rgb.any(axis=2))  # Same cell pixels.
        assert np.allclose(stain_stats([after.cell_rgb]).mean, normaliser.reference.mean, atol=3.0)
