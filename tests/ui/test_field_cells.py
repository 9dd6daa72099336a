"""A field's cells on Classify (`ui.field_cells`): one model pass for many cells, the cut-outs the stages came from, bytes counted."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from core.data.synthetic_fields import FieldLayout, draw_field
from core.imaging.decode import DecodedImage
from core.imaging.fields.outlines import KEPT_RGB, LEFT_OUT_RGB, outlined_field
from core.imaging.prepare import prepare_cell
from core.imaging.stain import ReinhardNormaliser, StainStats
from ui.byte_cache import array_bytes
from ui.field_cells import measure_cells

# Six lymphocyte-like cells in two rows, on a 960 x 640 field at D = 80 px.
SIX_CELLS = tuple((x, y, 1.4, 0) for y in (170, 470) for x in (170, 480, 790))


@pytest.fixture(scope="module")
def decoded() -> DecodedImage:
    field = draw_field(FieldLayout(size=(640, 960), white_cells=SIX_CELLS, red_cells=30), np.random.default_rng(1))
    return DecodedImage(field.image_rgb, "PNG", shown_size=(960, 640))


class CountingClassifier(SimpleNamespace):
    """Stands in for `core.model.inference.Classifier`: counts its passes and the cells in each."""

    def __init__(self) -> None:
        super().__init__(image_size=32, many_batch_size=32, batch_precision="float32", passes=[],
                         evidence=SimpleNamespace(ood_statistics=None))

    def values(self, inputs: np.ndarray, batch_size: int = 32, fast: bool = False):
        self.passes.append(len(inputs))
        return None, np.full(len(inputs), 0.25, np.float32)

    def decide(self, probability: float, views=None):
        return SimpleNamespace(probability_all=probability)


@pytest.mark.parametrize("normaliser", [None, ReinhardNormaliser(StainStats((150.0, 150.0, 110.0), (40.0, 8.0, 10.0)))])
def test_a_fields_cells_go_through_the_model_in_one_pass_from_the_cut_outs_they_show(decoded, normaliser):
    classifier = CountingClassifier()
    cells, cut_by_border = measure_cells(decoded, classifier, normaliser)
    assert [cell.number for cell in cells] == list(range(1, 7)) and cut_by_border == 0
    assert classifier.passes == [6]  # one batch, not a pass per cell
    for cell in cells:
        # The cut-out kept is the one the stages were prepared from: Explain and the report show that cell.
        again = prepare_cell(cell.cell_rgb, classifier.image_size).stages.model_input
        assert np.array_equal(again, cell.analysis.stages.model_input)
        assert (cell.unnormalised_rgb is not None) == (normaliser is not None)
        if normaliser is not None:
            assert cell.unnormalised_rgb.shape == cell.cell_rgb.shape and not np.array_equal(cell.unnormalised_rgb, cell.cell_rgb)


def test_the_analysis_cache_counts_every_array_of_a_measured_field(decoded):
    cells, cut_by_border = measure_cells(decoded, CountingClassifier(), None)
    stages = sum(array.nbytes for cell in cells for array in (cell.analysis.stages.model_input, cell.analysis.stages.grayscale,
                                                             cell.analysis.stages.clahe, cell.analysis.stages.mask))
    cut_outs = sum(cell.cell_rgb.nbytes + cell.outline.nbytes for cell in cells)
    assert array_bytes((cells, cut_by_border)) == stages + cut_outs  # the value `ui.field_cells.process_field` caches


def test_the_outlined_field_draws_kept_cells_yellow_and_left_out_ones_grey_on_a_copy(decoded):
    cells, _ = measure_cells(decoded, CountingClassifier(), None)
    before = decoded.image_rgb.copy()
    picture = outlined_field(decoded.image_rgb, [(cell.number, cell.outline) for cell in cells], (960, 640), left_out={2})
    assert picture.shape == decoded.image_rgb.shape and picture.dtype == np.uint8
    assert np.array_equal(decoded.image_rgb, before)
    for cell in cells:
        x, y = cell.outline[0]
        around = picture[max(0, y - 2):y + 3, max(0, x - 2):x + 3].reshape(-1, 3)
        colour = LEFT_OUT_RGB if cell.number == 2 else KEPT_RGB
        assert (np.abs(around.astype(int) - colour).sum(axis=1) < 30).any(), cell.number


def test_outlines_in_a_larger_photos_pixels_land_on_the_shrunk_field(decoded):
    cells, _ = measure_cells(decoded, CountingClassifier(), None)
    half = decoded.image_rgb[::2, ::2]  # as if the 960 x 640 photo had been decoded at half size
    picture = outlined_field(half, [(cell.number, cell.outline) for cell in cells], (960, 640))
    x, y = cells[0].outline[0] // 2
    around = picture[max(0, y - 2):y + 3, max(0, x - 2):x + 3].reshape(-1, 3)
    assert (np.abs(around.astype(int) - KEPT_RGB).sum(axis=1) < 30).any()


def test_a_field_cells_report_names_its_field_box_stain_and_the_lymphoid_only_sentence():
    from core.imaging.fields.lineage import LYMPHOID_ONLY_NOTE
    from core.model.analysis import CellAnalysis
    from core.model.inference import Prediction
    from core.reporting.html_report import build_report
    from ui.outcomes import UploadOutcome
    from ui.result_widgets import origin_rows

    cell_rgb = np.zeros((80, 80, 3), np.uint8)
    cell_rgb[20:60, 20:60] = (150, 90, 200)
    prepared = prepare_cell(cell_rgb, 32)
    outcome = UploadOutcome("smear<1>.png#2", "d#2", cell_rgb, field="smear<1>.png", number=2, box=(10, 20, 110, 130),
                            stain="reinhard")
    analysis = CellAnalysis(Prediction("all", 0.8, 0.5), prepared.stages, ())
    report = build_report(outcome.name, cell_rgb, analysis, {"is_demo": True}, "ab" * 32, origin=origin_rows(outcome),
                          origin_note=LYMPHOID_ONLY_NOTE)
    assert "Where the cell came from" in report and "smear&lt;1&gt;.png" in report and "<1>" not in report
    assert "10 20 110 130" in report and "#2 of the field" in report and "Moved to the model" in report
    assert LYMPHOID_ONLY_NOTE in report
    plain_report = build_report("cell.png", cell_rgb, analysis, {"is_demo": True}, "ab" * 32)
    assert "Where the cell came from" not in plain_report
