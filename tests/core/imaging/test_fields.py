"""Finding white cells in smear fields: synthetic fields at any magnification, hostile fields, real BCCD fields."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from core.data.synthetic_fields import FieldLayout, draw_field
from core.errors import PreprocessingError
from core.imaging.fields.crops import cut_out, segment_analyser_crop
from core.imaging.decode import load_image
from core.imaging.fields.cells import field_cells, looks_like_field, scaled_box
from core.imaging.fields.ruler import red_cell_diameter, stained_objects
from core.imaging.fields.finder import FoundCell, find_white_cells
from core.imaging.fields.lineage import LYMPHOID_ONLY_NOTE, non_lymphoid_reasons
from core.imaging.prepare import prepare_cell
from core.reporting.detection import greedy_match, iou, voc_boxes
from paths import BCCD, REAL_CELLS, SAMPLE_CELL
from requirements import require, require_bccd_field, require_sample_cell

# Three separate white cells (round, 3 lobes, 4 lobes), positions in units of the red-cell size D = 80 px.
THREE_CELLS = ((160, 150, 1.6, 3), (450, 300, 1.4, 1), (300, 380, 1.5, 4))


def field_of(white_cells, red_cell_px: float = 80.0, seed: int = 0, **options):
    """A synthetic field whose layout is given at D = 80 px and drawn at `red_cell_px`."""
    scale = red_cell_px / 80.0
    cells = tuple((x * scale, y * scale, size, lobes) for x, y, size, lobes in white_cells)
    size = (round(480 * scale), round(640 * scale))
    return draw_field(FieldLayout(size=size, red_cell_px=red_cell_px, white_cells=cells, **options), np.random.default_rng(seed))


def assert_all_found(found_boxes, true_boxes, min_iou: float = 0.7) -> None:
    counts = greedy_match(found_boxes, true_boxes, min_iou)
    assert counts.matched == len(true_boxes) and counts.false_found == 0, (found_boxes, true_boxes)


@pytest.mark.parametrize("red_cell_px", [30.0, 80.0, 160.0])
def test_every_white_cell_is_found_at_any_magnification(red_cell_px):
    field = field_of(THREE_CELLS, red_cell_px)
    found = find_white_cells(field.image_rgb)
    assert found.red_cell_diameter_px == pytest.approx(red_cell_px, rel=0.2)
    assert_all_found([cell.box for cell in found.whole_cells], field.boxes)


def test_red_cell_diameter_follows_the_magnification():
    small, large = (red_cell_diameter(stained_objects(field_of(THREE_CELLS, px).image_rgb)) for px in (40.0, 120.0))
    assert large / small == pytest.approx(3.0, rel=0.15)


def test_touching_white_cells_are_two_cells():
    field = field_of(((250, 240, 1.5, 1), (365, 240, 1.5, 2)))  # Centres 1.44 D apart: their cytoplasm touches.
    found = find_white_cells(field.image_rgb)
    assert_all_found([cell.box for cell in found.cells], field.boxes, 0.6)


def test_a_cell_cut_by_the_border_is_marked_and_never_cut_out():
    field = field_of(((20, 240, 1.5, 1), (400, 240, 1.5, 2)))
    found = find_white_cells(field.image_rgb)
    assert [cell.cut_by_border for cell in found.cells] == [True, False]
    cells, cut_by_border = field_cells(field.image_rgb)
    assert cut_by_border == 1 and [cell.found.box for cell in cells] == [found.cells[1].box]


def test_boxes_are_exclusive_and_masks_match_them():
    for cell in find_white_cells(field_of(THREE_CELLS).image_rgb).cells:
        x0, y0, x1, y1 = cell.box
        assert cell.mask.shape == (y1 - y0, x1 - x0) and cell.mask.dtype == bool
        # The mask reaches every side of its box: the box is tight, x1 and y1 one past the last pixel.
        assert cell.mask[0].any() and cell.mask[-1].any() and cell.mask[:, 0].any() and cell.mask[:, -1].any()
        assert 0 < cell.nucleus_fraction <= 1


@pytest.mark.parametrize("bad", [np.zeros((64, 64), np.uint8), np.zeros((64, 64, 3), np.float32), np.zeros((8, 64, 3), np.uint8)])
def test_arrays_that_are_not_rgb_fields_are_refused(bad):
    with pytest.raises(PreprocessingError, match="Expected a field"):
        find_white_cells(bad)


def test_a_field_without_white_cells_says_so():
    field = field_of(())
    assert find_white_cells(field.image_rgb).cells == ()
    with pytest.raises(PreprocessingError, match="No whole white cell"):
        field_cells(field.image_rgb)


def test_an_unstained_field_is_refused():
    with pytest.raises(PreprocessingError, match="no stained cells"):
        find_white_cells(field_of(THREE_CELLS, stained=False).image_rgb)


def test_a_blurred_field_is_refused():
    blurred = cv2.GaussianBlur(field_of(THREE_CELLS).image_rgb, (0, 0), 16)  # sigma 0.2 D
    with pytest.raises(PreprocessingError, match="out of focus"):
        find_white_cells(blurred)


def test_a_slightly_soft_field_is_still_read():
    soft = cv2.GaussianBlur(field_of(THREE_CELLS).image_rgb, (0, 0), 2)  # sigma 0.025 D
    assert len(find_white_cells(soft).whole_cells) == 3


def test_an_over_exposed_field_is_refused():
    bright = cv2.convertScaleAbs(field_of(THREE_CELLS).image_rgb, alpha=1.6, beta=40)
    with pytest.raises(PreprocessingError, match="over-exposed"):
        find_white_cells(bright)


def test_a_very_large_photo_gives_boxes_in_its_own_pixels():
    field = field_of(THREE_CELLS, red_cell_px=480.0)  # 3840 x 2880 px, shrunk inside to 2048 px.
    found = find_white_cells(field.image_rgb)
    assert found.red_cell_diameter_px == pytest.approx(480.0, rel=0.2)
    assert_all_found([cell.box for cell in found.whole_cells], field.boxes)


def test_a_cut_out_is_the_cell_on_black_and_prepares_like_a_cnmc_cell():
    field = field_of(THREE_CELLS)
    cell = find_white_cells(field.image_rgb).whole_cells[0]
    cell_rgb = cut_out(field.image_rgb, cell)
    assert cell_rgb.dtype == np.uint8 and cell_rgb.shape[0] == cell_rgb.shape[1] and cell_rgb.shape[2] == 3
    assert not cell_rgb[0].any() and not cell_rgb[-1].any()  # Black around the cell.
    assert np.count_nonzero(cell_rgb.any(axis=2)) == np.count_nonzero(cell.mask)  # Only the cell's pixels kept.
    prepared = prepare_cell(cell_rgb, 64)
    assert prepared.stages.fallback is None and prepared.scope_reasons == ()


def test_an_analyser_crop_is_segmented_onto_black():
    field = field_of(THREE_CELLS)
    x0, y0, x1, y1 = field.boxes[1]  # The round cell; red cells lie at the crop's edges.
    crop = field.image_rgb[y0 - 60:y1 + 60, x0 - 60:x1 + 60]
    cell_rgb = segment_analyser_crop(crop)
    assert not cell_rgb[0].any() and prepare_cell(cell_rgb, 64).scope_reasons == ()
    disc_area = np.pi * ((x1 - x0) / 2) ** 2
    assert np.count_nonzero(cell_rgb.any(axis=2)) == pytest.approx(disc_area, rel=0.15)


def test_a_crop_without_a_white_cell_is_refused():
    with pytest.raises(PreprocessingError, match="No white cell"):
        segment_analyser_crop(field_of(()).image_rgb)


def test_fields_are_told_from_cells_on_black():
    require_sample_cell()
    assert looks_like_field(field_of(THREE_CELLS).image_rgb)
    assert not looks_like_field(load_image(SAMPLE_CELL).image_rgb)
    real_cells = sorted(REAL_CELLS.glob("*.png"))[:20]
    require(bool(real_cells), f"{REAL_CELLS} holds no real C-NMC cells")
    assert not any(looks_like_field(load_image(path).image_rgb) for path in real_cells)


def test_scaled_box_undoes_a_downscale():
    assert scaled_box((10, 20, 30, 40), (100, 200), (400, 200)) == (20, 40, 60, 80)
    assert scaled_box((0, 0, 200, 100), (100, 200), (401, 201)) == (0, 0, 401, 201)


@pytest.mark.parametrize("stem", ["BloodImage_00000", "BloodImage_00010", "BloodImage_00127"])
def test_real_bccd_white_cells_are_found(stem):
    require_bccd_field(stem)
    reference = voc_boxes(BCCD / "Annotations" / f"{stem}.xml")
    found = find_white_cells(load_image(BCCD / "JPEGImages" / f"{stem}.jpg").image_rgb)
    counts = greedy_match([cell.box for cell in found.cells], reference)
    assert counts.matched == len(reference) >= 1 and counts.false_found == 0
    assert 60 < found.red_cell_diameter_px < 120  # BCCD's red cells are about 100 px boxes at 640 x 480.


def test_small_nuclei_are_flagged_as_not_lymphoid_and_a_lymphocyte_is_not():
    field = field_of(((160, 150, 1.3, 0), (450, 300, 1.6, 4), (300, 380, 1.6, 1)))
    cells = sorted(find_white_cells(field.image_rgb).whole_cells, key=lambda cell: cell.box[0])
    lymphocyte, round_small, lobed = cells  # Left to right: x 160, 300, 450.
    assert non_lymphoid_reasons(lymphocyte) == () and lymphocyte.nucleus_fraction >= 0.6
    assert "fills only" in non_lymphoid_reasons(round_small)[0]
    assert "fills only" in non_lymphoid_reasons(lobed)[0]


@pytest.mark.parametrize("lobes, solidity, expected", [(3, 0.9, "3 separate lobes"), (1, 0.7, "lobed or kidney-shaped"), (1, 0.95, None)])
def test_the_nucleus_shape_rule(lobes, solidity, expected):
    cell = FoundCell((0, 0, 4, 4), np.ones((4, 4), bool), 0.8, False, solidity, lobes)
    reasons = non_lymphoid_reasons(cell)
    assert (reasons == ()) if expected is None else (expected in reasons[0] and LYMPHOID_ONLY_NOTE in reasons[0])


@pytest.mark.parametrize("stem", ["BloodImage_00127", "BloodImage_00041"])
def test_a_real_cell_cropped_like_an_analyser_crop_is_segmented(stem):
    require_bccd_field(stem)
    field_rgb = load_image(BCCD / "JPEGImages" / f"{stem}.jpg").image_rgb
    x0, y0, x1, y1 = voc_boxes(BCCD / "Annotations" / f"{stem}.xml")[0]
    margin = 40  # Red cells cut by the crop's edges, as an analyser's crop has them.
    crop = field_rgb[max(0, y0 - margin):y1 + margin, max(0, x0 - margin):x1 + margin]
    cell_rgb = segment_analyser_crop(crop)
    assert not cell_rgb[0].any() and not cell_rgb[:, 0].any()
    # The crop gives the cell the whole field gives (BCCD's boxes are too loose to measure its area against).
    in_field = max(find_white_cells(field_rgb).cells, key=lambda cell: iou(cell.box, (x0, y0, x1, y1)))
    assert np.count_nonzero(cell_rgb.any(axis=2)) == pytest.approx(np.count_nonzero(in_field.mask), rel=0.15)
    assert prepare_cell(cell_rgb, 64).scope_reasons == ()
