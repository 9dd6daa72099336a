"""Classify takes smear fields: numbered cells on the field, one answer each, cells left out, the stain, Explain.

The field is synthetic (`core.data.synthetic_fields`, three lymphocyte-like cells, one of them with a
small nucleus that the lineage check flags) and the model the session's tiny 64-px one.
"""
from __future__ import annotations

import io

import numpy as np
import pytest
from apptest_helpers import open_app, png_bytes, texts, upload
from streamlit.testing.v1 import AppTest

from core.data.synthetic_fields import FieldLayout, draw_field
from core.imaging.fields.lineage import LYMPHOID_ONLY_NOTE
from core.imaging.stain import SIDECAR_KEY, StainStats
from core.model.store import read_sidecar
from model_files import install_model
from ui import classify_widgets, field_widgets

# (centre x, centre y, diameter in red cells, nucleus 0: a lymphocyte's; 1: a smaller, round one)
WHITE_CELLS = ((160, 150, 1.5, 0), (450, 300, 1.4, 0), (300, 380, 1.5, 1))  # #2 (reading order) is the small nucleus
FIELD_NAME = "smear.png"


def field_png(white_cells=WHITE_CELLS, stained: bool = True) -> bytes:
    field = draw_field(FieldLayout(white_cells=white_cells, stained=stained), np.random.default_rng(0))
    return png_bytes(field.image_rgb)


@pytest.fixture(scope="module")
def field_bytes() -> bytes:
    return field_png()


@pytest.fixture
def app(monkeypatch, tiny_model_path, synthetic_data_root) -> AppTest:
    monkeypatch.setenv("LEUKEMIA_MODEL", str(tiny_model_path))
    monkeypatch.setenv("LEUKEMIA_DATA_DIR", str(synthetic_data_root))
    return open_app()


def picker(app: AppTest):
    """The field's "leave out" multiselect."""
    return next(widget for widget in app.multiselect if widget.key.startswith("field_left_out_"))


def table_of(app: AppTest):
    return next(frame.value for frame in app.dataframe if "file" in frame.value.columns)


@pytest.mark.slow  # the module's first pass of the model over a field
def test_a_field_shows_its_numbered_cells_and_one_answer_each(app, field_bytes):
    upload(app, [(FIELD_NAME, field_bytes)])
    assert not app.exception and not app.error
    assert texts(app.subheader)[0] == f"{FIELD_NAME}: a smear field, 3 whole white cells found"
    assert LYMPHOID_ONLY_NOTE in texts(app.info)
    assert picker(app).options == ["#1", "#2", "#3"] and not picker(app).value
    assert len(app.image) >= 1 + 3  # the outlined field and each cell's cut-out (then the detail view's stages)
    table = table_of(app)
    assert list(table["file"]) == [f"{FIELD_NAME}#{number}" for number in (1, 2, 3)]
    assert set(table["field"]) == {FIELD_NAME} and all(len(box.split()) == 4 for box in table["box"])
    assert all(answer for answer in table["answer"])  # every kept cell is answered
    small_nucleus = table.set_index("file").loc[f"{FIELD_NAME}#2"]  # its nucleus fills too little of it: not lymphoid
    assert small_nucleus["in scope"] == "no" and small_nucleus["answer"].startswith("Refer")
    assert [button.label for button in app.button if button.label.startswith("Explain #")] == ["Explain #1", "Explain #2", "Explain #3"]


def test_a_cell_left_out_is_not_answered_nor_in_the_table(app, field_bytes):
    upload(app, [(FIELD_NAME, field_bytes)])
    picker(app).set_value([2]).run()
    assert not app.exception
    assert list(table_of(app)["file"]) == [f"{FIELD_NAME}#1", f"{FIELD_NAME}#3"]
    assert [button.label for button in app.button if button.label.startswith("Explain #")] == ["Explain #1", "Explain #3"]
    detail = app.selectbox(key="classify_detail")
    assert [option.split(". ", 1)[1] for option in detail.options] == [f"{FIELD_NAME}#1", f"{FIELD_NAME}#3"]


def test_the_same_field_under_two_names_is_two_fields(app, field_bytes):
    upload(app, [("a.png", field_bytes), ("b.png", field_bytes)])
    assert not app.exception
    assert list(table_of(app)["file"]) == [f"{name}#{number}" for name in ("a.png", "b.png") for number in (1, 2, 3)]


def test_the_table_and_its_csv_keep_each_cells_field_box_and_stain():
    """The CSV is the table's (`results_table` -> `csv_bytes`): a left-out cell, absent from the outcomes, is absent."""
    from ui.outcomes import UploadOutcome

    outcomes = [UploadOutcome(f"{FIELD_NAME}#3", "d#3", field=FIELD_NAME, number=3, box=(10, 20, 110, 130), stain="reinhard")]
    rows = classify_widgets.csv_bytes(classify_widgets.results_table(outcomes)).decode().splitlines()
    header, row = rows[0].split(","), rows[1].split(",")
    assert header[-3:] == ["field", "box", "stain"] and row[0] == f"{FIELD_NAME}#3"
    assert row[-3:] == [FIELD_NAME, "10 20 110 130", "reinhard"]


@pytest.fixture
def stained_model(tmp_path, tiny_model_path):
    """The tiny model with a training stain in its sidecar (as `core.training.stain_fit` writes it)."""
    sidecar, _ = read_sidecar(tiny_model_path)
    sidecar[SIDECAR_KEY] = StainStats((150.0, 150.0, 110.0), (40.0, 8.0, 10.0)).as_dict()
    return install_model(tiny_model_path, tmp_path, sidecar)


@pytest.mark.slow  # a second model to load
def test_with_the_stain_toggle_every_answer_records_the_stain_and_shows_both_stages(monkeypatch, stained_model,
                                                                                   synthetic_data_root, field_bytes):
    monkeypatch.setenv("LEUKEMIA_MODEL", str(stained_model))
    monkeypatch.setenv("LEUKEMIA_DATA_DIR", str(synthetic_data_root))
    app = open_app()
    app.sidebar.toggle(key="stain_input").set_value(True).run()
    upload(app, [(FIELD_NAME, field_bytes)])
    assert not app.exception and not app.error
    table = table_of(app)
    assert len(table) == 3 and set(table["stain"]) == {"reinhard"}
    pictures = [caption for image in app.image for caption in image.captions]
    assert pictures.count("its own stain") == 3 and pictures.count("in the model's stain") == 3  # the cut-outs
    assert "Cut out of the field, its own stain" in pictures and "Moved to the model's training stain" in pictures
    assert any(caption.startswith("Moved to the model's training stain") for caption in texts(app.caption))


def blurred(data: bytes) -> bytes:
    import cv2
    from PIL import Image

    return png_bytes(cv2.GaussianBlur(np.asarray(Image.open(io.BytesIO(data)).convert("RGB")), (0, 0), 12))


@pytest.mark.parametrize("case, start", [
    ("no white cell", "No whole white cell was found in this field"),
    ("unstained", "This field shows no stained cells"),
    ("blurred", "This field is out of focus"),
])
def test_a_field_without_whole_sharp_stained_cells_gets_the_reason_not_a_traceback(app, field_bytes, case, start):
    data = {"no white cell": lambda: field_png(white_cells=()), "unstained": lambda: field_png(stained=False),
            "blurred": lambda: blurred(field_bytes)}[case]()
    upload(app, [("bad.png", data)])
    assert not app.exception and not app.dataframe  # nothing answered
    errors = texts(app.error)
    assert len(errors) == 1 and errors[0].startswith(f"bad.png: {start}"), errors


@pytest.mark.slow  # Explain's Grad-CAM and faithfulness
def test_a_found_cell_opens_in_explain_named_and_with_the_fields_answer(app, field_bytes):
    upload(app, [(FIELD_NAME, field_bytes)])
    answers = dict(zip(table_of(app)["file"], table_of(app)["answer"]))
    next(button for button in app.button if button.label == "Explain #2").click().run()
    assert not app.exception
    assert app.session_state["last_image"]["name"] == f"{FIELD_NAME}#2"
    heading = texts(app.subheader)[0]
    assert heading.startswith(f"{FIELD_NAME}#2: ")
    assert answers[f"{FIELD_NAME}#2"] in heading  # Explain answers the cut-out as Classify did
    assert LYMPHOID_ONLY_NOTE in texts(app.info)


def test_remember_for_explain_gives_a_plain_cell_no_analysis(monkeypatch):
    kept = {}
    monkeypatch.setattr(field_widgets.state, "remember_image", lambda *args: kept.update(args=args))
    monkeypatch.setattr(field_widgets.cache, "model_key", lambda classifier: "model")
    from ui.outcomes import UploadOutcome

    plain_cell = UploadOutcome("a.bmp", "d", np.zeros((4, 4, 3), np.uint8), analysis=object())
    field_widgets.remember_for_explain(plain_cell, classifier=None)
    assert kept["args"][4] is None
