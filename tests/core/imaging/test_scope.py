"""The out-of-scope check: segmented cells pass, photos, smears and fallbacks are flagged."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from core import config
from core.imaging.decode import load_image
from core.imaging.preprocess import preprocess_cell
from core.imaging.scope import NO_STAIN_REASON, assess_scope, large_blob_count
from core.data.synthetic_cells import make_subject_style, render_cell
from paths import SAMPLE_CELL
from requirements import require_sample_cell



def reasons_for(image_rgb: np.ndarray) -> list[str]:
    return assess_scope(image_rgb, preprocess_cell(image_rgb, 64))


def synthetic_cell(label: str, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return render_cell(rng, label, make_subject_style(rng, label), 450)


def bright_photo(seed: int = 0) -> np.ndarray:
    """A 'phone photo': bright, noisy, no dark background anywhere."""
    rng = np.random.default_rng(seed)
    base = np.full((300, 400, 3), 200, np.int16) + rng.integers(-40, 40, (300, 400, 3))
    return np.clip(base, 0, 255).astype(np.uint8)


def smear(seed: int = 0) -> np.ndarray:
    """Many similar cells on a dark background, like an unsegmented field of view."""
    rng = np.random.default_rng(seed)
    image_rgb = np.zeros((450, 450, 3), np.uint8)
    for _ in range(12):
        center = tuple(int(value) for value in rng.integers(40, 410, 2))
        cv2.circle(image_rgb, center, int(rng.integers(22, 34)), (150, 90, 170), thickness=-1)
    return image_rgb


@pytest.mark.parametrize("label", ["all", "hem"])
def test_synthetic_cell_is_in_scope(label):
    assert reasons_for(synthetic_cell(label)) == []


def test_real_sample_cell_is_in_scope():
    require_sample_cell()
    assert reasons_for(load_image(SAMPLE_CELL).image_rgb) == []


def test_bright_photo_is_flagged_for_its_background():
    reasons = reasons_for(bright_photo())
    assert any("background is not dark" in reason for reason in reasons)


def test_smear_is_flagged_for_several_objects():
    reasons = reasons_for(smear())
    assert any("separate large objects" in reason for reason in reasons)


def test_cell_on_bright_field_is_flagged():
    """A cell whose black background was replaced by white: not what the model was trained on."""
    image_rgb = synthetic_cell("all")
    background = image_rgb.max(axis=2) == 0
    image_rgb[background] = 235
    assert any("background is not dark" in reason for reason in reasons_for(image_rgb))


def test_preprocessing_fallback_is_reported():
    stages = preprocess_cell(synthetic_cell("hem"), 64)
    forced = type(stages)(**{**stages.__dict__, "fallback": "No separate cell was found."})
    assert "No separate cell was found." in assess_scope(synthetic_cell("hem"), forced)


def stained_square(area_fraction: float, side: int = 400) -> np.ndarray:
    """A purple square covering `area_fraction` of a black (side, side, 3) uint8 RGB image, centred."""
    image_rgb = np.zeros((side, side, 3), np.uint8)
    width = int(round(np.sqrt(area_fraction) * side))
    start = (side - width) // 2
    image_rgb[start : start + width, start : start + width] = (150, 60, 170)
    return image_rgb


def test_the_scope_range_of_the_mask_sits_inside_the_cropping_range():
    (crop_low, crop_high), (scope_low, scope_high) = config.CROP_MASK_FRACTION, config.SCOPE_MASK_FRACTION
    assert 0 < crop_low < scope_low < scope_high < crop_high < 1


@pytest.mark.parametrize("area_fraction, cropped, reason", [
    (0.3, True, None),
    (0.004, True, "covers only 0.4% of the image"),  # Cropped, but too small a share of the image for a C-NMC cell.
    (0.85, True, "covers 85% of the image"),  # Cropped, but no single cell standing out.
    (0.985, False, "covers 99% of the image"),  # Past the cropping range: the whole image, and out of scope.
])
def test_a_mask_between_the_two_ranges_is_cropped_but_out_of_scope(area_fraction, cropped, reason):
    image_rgb = stained_square(area_fraction)
    stages = preprocess_cell(image_rgb, 64)
    mask_reasons = [sentence for sentence in assess_scope(image_rgb, stages) if sentence.startswith("The cell mask")]
    assert (stages.fallback is None) == cropped
    if reason is None:
        assert mask_reasons == []
    else:
        assert len(mask_reasons) == 1 and reason in mask_reasons[0]


def test_tiny_speck_next_to_a_cell_is_not_a_second_object():
    image_rgb = synthetic_cell("all")
    cv2.circle(image_rgb, (20, 20), 2, (200, 200, 200), thickness=-1)
    assert large_blob_count(cv2.cvtColor(image_rgb, cv2.COLOR_RGB2GRAY)) == 1


def grayscale_copy(image_rgb: np.ndarray) -> np.ndarray:
    """The same cell with its stain colour stripped: (H, W, 3) uint8 with R = G = B."""
    return cv2.cvtColor(cv2.cvtColor(image_rgb, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)


def real_cell_paths() -> list[Path]:
    from paths import REAL_CELLS
    from requirements import require_shared_file

    require_shared_file(REAL_CELLS / "manifest.csv")
    return sorted(REAL_CELLS.glob("*.png"))


def test_no_real_cell_is_flagged_for_missing_stain():
    paths = real_cell_paths()
    assert len(paths) == 251
    flagged = [path.name for path in paths if NO_STAIN_REASON in reasons_for(load_image(path).image_rgb)]
    assert flagged == []


@pytest.mark.parametrize("label", ["all", "hem"])
def test_synthetic_cells_keep_their_stain(label):
    for seed in range(5):
        assert NO_STAIN_REASON not in reasons_for(synthetic_cell(label, seed))


def test_grayscale_copy_of_a_real_cell_is_flagged():
    image_rgb = load_image(real_cell_paths()[0]).image_rgb
    assert NO_STAIN_REASON not in reasons_for(image_rgb)
    assert NO_STAIN_REASON in reasons_for(grayscale_copy(image_rgb))


def test_grayscale_copy_of_a_synthetic_cell_is_flagged():
    assert NO_STAIN_REASON in reasons_for(grayscale_copy(synthetic_cell("all")))


def test_median_chroma_is_numpys_median_of_max_minus_min_over_the_mask():
    from core.imaging.scope import median_chroma

    rng = np.random.default_rng(0)
    for _ in range(200):
        height, width = rng.integers(1, 40, 2)
        image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        mask = (rng.random((height, width)) < rng.random()).astype(np.uint8) * rng.integers(1, 256)
        inside = mask > 0
        pixels = image[inside].astype(np.int16)
        expected = float(np.median(pixels.max(axis=1) - pixels.min(axis=1))) if inside.any() else None
        assert median_chroma(image, mask) == expected
    assert median_chroma(image, np.zeros((height + 1, width), np.uint8)) is None  # a mask of another shape
