"""A cell's stain and texture statistics: over its mask only, moved by a stain change and lowered by blur."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from core.imaging import shifts
from core.imaging.preprocess import preprocess_cell
from core.imaging.statistics import STATISTICS, cell_statistics, statistics_of

TEXTURE = slice(13, 16)  # the three log1p texture measures
LAB_MEAN = slice(0, 3)


def textured_cell(size: int = 450) -> np.ndarray:
    """(size, size, 3) uint8 RGB: a violet disc with fine noise on black, like a stained cell."""
    image_rgb = np.zeros((size, size, 3), np.uint8)
    cv2.circle(image_rgb, (size // 2, size // 2), size // 4, (130, 70, 150), -1)
    noise = np.random.default_rng(0).integers(0, 60, image_rgb.shape, dtype=np.uint8)
    return np.where(image_rgb > 0, image_rgb + noise, 0).astype(np.uint8)


def test_statistics_have_their_documented_length_and_are_repeatable():
    stages = preprocess_cell(textured_cell(), 96)
    first, second = statistics_of(stages), statistics_of(stages)
    assert first.shape == (STATISTICS,) and first.dtype == np.float64 and np.isfinite(first).all()
    np.testing.assert_array_equal(first, second)


def test_only_the_cell_under_the_mask_counts_for_its_colour():
    image_rgb = np.zeros((32, 32, 3), np.uint8)
    image_rgb[:16] = (200, 40, 40)   # the cell: red
    image_rgb[16:] = (40, 40, 200)   # outside it: blue, must not change the cell's colour
    mask = np.zeros((32, 32), bool)
    mask[:16] = True
    red_lab = cv2.cvtColor(np.full((1, 1, 3), (200, 40, 40), np.uint8), cv2.COLOR_RGB2LAB)[0, 0].astype(float)
    np.testing.assert_allclose(cell_statistics(image_rgb, mask)[LAB_MEAN], red_lab, atol=1e-4)
    assert not np.allclose(cell_statistics(image_rgb, None)[LAB_MEAN], red_lab, atol=1.0)


def test_a_stain_change_moves_the_colour_and_blur_lowers_the_texture():
    cell = textured_cell()
    original = statistics_of(preprocess_cell(cell, 96))
    stained = statistics_of(preprocess_cell(shifts.stain(cell, 20), 96))
    blurred = statistics_of(preprocess_cell(shifts.blur(cell, 4.0), 96))
    assert np.abs(stained[1:3] - original[1:3]).max() > 5  # the a* and b* means move with the hue
    assert (blurred[TEXTURE] < original[TEXTURE]).all()


@pytest.mark.parametrize("image, mask", [
    (np.zeros((8, 8, 3), np.float32), None),
    (np.zeros((8, 8), np.uint8), None),
    (np.zeros((8, 8, 3), np.uint8), np.ones((4, 4), bool)),
])
def test_wrong_inputs_are_refused_with_what_to_pass(image, mask):
    with pytest.raises(ValueError, match="model input|mask"):
        cell_statistics(image, mask)


@pytest.mark.parametrize("name", list(shifts.SHIFTS))
def test_every_shift_keeps_an_rgb_uint8_image(name):
    perturb, strengths = shifts.SHIFTS[name]
    shifted = perturb(textured_cell(), strengths[-1])
    assert shifted.dtype == np.uint8 and shifted.ndim == 3 and shifted.shape[2] == 3


def test_statistics_worked_out_ahead_are_the_ones_the_answer_would_work_out(monkeypatch):
    """`with_statistics` (the Ray engine's preparing tasks) and `statistics_for` (the answer) agree, bit for bit,
    and a model whose OOD score reads no statistics gets none either way."""
    from types import SimpleNamespace

    from core.imaging import statistics
    from core.imaging.prepare import prepare_cell, with_statistics
    from core.model.analysis import statistics_for

    cell = with_statistics(prepare_cell(textured_cell(), 96))
    reads = SimpleNamespace(evidence=SimpleNamespace(ood_statistics=object()))
    assert np.array_equal(statistics_for(reads, cell.stages), cell.statistics)
    monkeypatch.setattr(statistics, "cell_statistics", lambda *args: pytest.fail("worked out twice"))
    assert statistics_for(reads, cell.stages, cell.statistics) is cell.statistics
    assert statistics_for(SimpleNamespace(evidence=SimpleNamespace(ood_statistics=None)), cell.stages, cell.statistics) is None
