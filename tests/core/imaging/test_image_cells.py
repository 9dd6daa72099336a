"""An image's cells as the pages and the command line take them: one cell, or a field's whole white cells."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from core.data.synthetic_fields import FieldLayout, draw_field
from core.errors import PreprocessingError
from core.imaging.decode import DecodedImage, load_image
from core.imaging.image_cells import REINHARD, cells_of_image
from core.imaging.stain import ReinhardNormaliser, StainStats
from core.reporting.detection import greedy_match
from paths import BCCD, SAMPLE_CELL
from requirements import require_bccd_field, require_sample_cell

THREE_CELLS = ((160, 150, 1.6, 3), (450, 300, 1.4, 1), (300, 380, 1.5, 4))
C_NMC_STAIN = StainStats((150.0, 150.0, 110.0), (40.0, 8.0, 10.0))


def field_png(scale: float = 1.0, orientation: int = 1, white_cells=THREE_CELLS) -> tuple[bytes, list]:
    """A synthetic field as PNG bytes (EXIF orientation `orientation`) and its true boxes, drawn at D = 80 * scale px."""
    cells = tuple((x * scale, y * scale, size, lobes) for x, y, size, lobes in white_cells)
    field = draw_field(FieldLayout(size=(round(480 * scale), round(640 * scale)), red_cell_px=80.0 * scale, white_cells=cells),
                       np.random.default_rng(0))
    image = Image.fromarray(field.image_rgb)
    buffer = io.BytesIO()
    exif = image.getexif()
    exif[0x0112] = orientation
    image.save(buffer, "PNG", exif=exif)
    return buffer.getvalue(), field.boxes


def test_a_cell_on_black_is_one_cell_without_a_place_in_a_field():
    require_sample_cell()
    cells, cut = cells_of_image(load_image(SAMPLE_CELL), 64)
    assert len(cells) == 1 and cut == 0
    only = cells[0]
    assert not only.in_field and only.number == 0 and only.box is None and only.outline is None and only.stain == ""


def test_a_field_gives_numbered_cells_with_boxes_and_outlines_in_the_photos_pixels():
    data, boxes = field_png(scale=4.0)  # 2560 x 1920: decoded at 2048 px, boxes in the original's pixels
    decoded = load_image(data)
    assert decoded.image_rgb.shape[1] == 2048 and decoded.original_size == (2560, 1920)
    cells, _ = cells_of_image(decoded, 64)
    assert [cell.number for cell in cells] == list(range(1, len(cells) + 1))
    counts = greedy_match([cell.box for cell in cells], boxes)
    assert counts.matched == len(boxes) and counts.false_found == 0
    for cell in cells:
        x0, y0, x1, y1 = cell.box
        xs, ys = cell.outline[:, 0], cell.outline[:, 1]
        assert cell.outline.dtype == np.int32 and cell.outline.shape[1] == 2 and len(cell.outline) >= 8
        assert x0 - 3 <= xs.min() and xs.max() <= x1 + 3 and y0 - 3 <= ys.min() and ys.max() <= y1 + 3
        assert xs.max() - xs.min() >= 0.8 * (x1 - x0)  # The outline spans the box: the right scale, not the decoded one.


def test_a_lobed_cell_carries_its_not_lymphoid_finding_so_it_is_referred():
    data, _ = field_png(white_cells=((160, 150, 1.3, 0), (450, 300, 1.6, 4), (300, 380, 1.6, 1)))
    cells, _ = cells_of_image(load_image(data), 64)
    findings = [any("not a lymphoid cell" in reason for reason in cell.cell.scope_reasons) for cell in cells]
    assert any(findings) and not all(findings)  # The small-nucleus and the lobed cells, not the lymphocyte.


def test_a_turned_photo_reports_boxes_in_its_pixels_as_shown():
    data, _ = field_png(orientation=6)  # A quarter turn: the photo is shown 480 wide, 640 high.
    decoded = load_image(data)
    assert decoded.original_size == (480, 640) == (decoded.image_rgb.shape[1], decoded.image_rgb.shape[0])
    cells, _ = cells_of_image(decoded, 64)
    assert all(cell.box[2] <= 480 and cell.box[3] <= 640 for cell in cells)


def test_normalised_cells_keep_their_unnormalised_stage_and_say_so():
    data, _ = field_png()
    plain, _ = cells_of_image(load_image(data), 64)
    moved, _ = cells_of_image(load_image(data), 64, ReinhardNormaliser(C_NMC_STAIN))
    assert [cell.box for cell in moved] == [cell.box for cell in plain]
    assert all(cell.stain == REINHARD and cell.unnormalised_rgb is not None for cell in moved)
    assert all(cell.stain == "" and cell.unnormalised_rgb is None for cell in plain)
    for before, after in zip(plain, moved):
        assert not np.array_equal(after.cell.stages.model_input, before.cell.stages.model_input)  # the model saw the new stain


def test_a_field_without_a_whole_white_cell_is_a_clear_refusal():
    field = np.full((480, 640, 3), 230, np.uint8)
    with pytest.raises(PreprocessingError):
        cells_of_image(DecodedImage(field, "PNG"), 64)


@pytest.mark.parametrize("stem", ["BloodImage_00000"])
def test_a_real_bccd_field_gives_boxes_within_the_photo(stem):
    require_bccd_field(stem)
    decoded = load_image(BCCD / "JPEGImages" / f"{stem}.jpg")
    cells, _ = cells_of_image(decoded, 64)
    width, height = decoded.original_size
    assert cells and all(0 <= cell.box[0] < cell.box[2] <= width and 0 <= cell.box[1] < cell.box[3] <= height for cell in cells)


def test_a_field_with_more_cells_than_the_bound_is_refused_before_any_is_cut_out(monkeypatch):
    from core import config
    from core.imaging.fields import cells as field_module

    monkeypatch.setattr(config, "MAX_FIELD_CELLS", 2)
    cut = []
    monkeypatch.setattr(field_module, "cut_out", lambda *args: cut.append(args))
    data, _ = field_png()
    with pytest.raises(PreprocessingError, match="3 white cells were found in this field, more than the 2 read from one "
                                                 "photo. Crop it into smaller fields"):
        cells_of_image(load_image(data), 64)
    assert not cut


def test_the_patient_page_names_the_crowded_field_and_reads_the_other_files(monkeypatch):
    from core import config
    from core.subjects.cells import prepare_files

    monkeypatch.setattr(config, "MAX_FIELD_CELLS", 2)
    crowded, _ = field_png()
    fine, _ = field_png(white_cells=THREE_CELLS[:2])
    prepared = prepare_files([("crowded.png", "a", crowded), ("fine.png", "b", fine)], 64)
    assert [file.name for file in prepared] == ["crowded.png", "fine.png#1", "fine.png#2"]
    assert prepared[0].error.startswith("crowded.png: 3 white cells were found") and prepared[0].stages is None
    assert all(file.error is None and file.stages is not None for file in prepared[1:])
