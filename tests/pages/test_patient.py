"""The Patient page through AppTest: a held-out synthetic subject answered, its cells one click from Explain,
zips read or refused with a message; uploads named after several C-NMC subjects said and offered one by one,
one person's total bounded, each upload unpacked and hashed once however often the page reruns (on real
C-NMC cells saved as PNG, shared/data/real_cells, whose names carry their subjects).

The model is the session's tiny one with a demo sidecar, a split CSV that holds half the training
subjects out, and a subject-level evaluation saying when answers are stable.
"""
from __future__ import annotations

import io
import re
import zipfile

import pytest
from apptest_helpers import open_app, texts
from model_files import install_demo_model

from core.data.sides import HELD_OUT_SUBJECTS
from core import config
from core.subjects.summary import DEMO_SUBJECT_SENTENCE
from paths import REAL_CELLS
from requirements import require

ANSWER = re.compile(r": (ALL|Healthy|Refer)$")
# Three cells of subject 11 and two of the healthy subject H10 (both with more in real_cells/).
CELLS = ("UID_11_10_1_all.png", "UID_11_25_2_all.png", "UID_11_28_1_all.png", "UID_H10_105_4_hem.png", "UID_H10_107_1_hem.png")
CELLS_USED = re.compile(r"\d+ of (\d+)")


@pytest.fixture(scope="module")
def patient_model(tiny_model_path, synthetic_data_root, tmp_path_factory):
    """The tiny model as a demo model, half its training subjects held out, stable after 5 cells."""
    from core.subjects.evaluation import evaluate_subjects

    # Three subjects' cells, evaluated for real so the sidecar passes its schema; then "stable after 5 cells".
    held_out_evaluation = evaluate_subjects([0.9, 0.8, 0.7, 0.2, 0.3, 0.1, 0.6, 0.95], [1, 1, 1, 0, 0, 0, 1, 1],
                                            ["A", "A", "A", "B", "B", "B", "C", "C"], threshold=0.5)
    evaluation = {"rule": "mean_log_odds", "held_out": {**held_out_evaluation, "stable_after": 5}}
    return install_demo_model(tiny_model_path, tmp_path_factory.mktemp("patient_model"), synthetic_data_root,
                              {"subject_evaluation": evaluation})


@pytest.fixture
def patient_app(monkeypatch, patient_model, synthetic_data_root):
    monkeypatch.setenv("LEUKEMIA_MODEL", str(patient_model))
    monkeypatch.setenv("LEUKEMIA_DATA_DIR", str(synthetic_data_root))
    at = open_app()
    at.switch_page("app_pages/patient.py").run()
    assert not at.exception
    return at


def choose_subject(at):
    at.radio(key="patient_source").set_value("A held-out subject of the dataset").run()
    box = at.selectbox(key="patient_subject")
    assert all(HELD_OUT_SUBJECTS in option or "external set" in option for option in box.options)
    return box.select(box.options[0]).run()


def test_a_held_out_subject_gets_one_answer_with_its_limits(patient_app):
    at = choose_subject(patient_app)
    assert not at.exception and not at.error
    heading = texts(at.subheader)[0]
    assert ANSWER.search(heading), heading
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["Answer about the person"] in ("ALL", "Healthy", "Refer")
    assert re.fullmatch(r"\d+ of \d+", metrics["Cells used"])
    warning = " ".join(texts(at.warning))
    assert DEMO_SUBJECT_SENTENCE in warning and config.DISCLAIMER in warning
    captions = " ".join(texts(at.caption))
    assert "95% of held-out subjects already got their final answer" in captions
    assert "Label in the dataset" in captions
    assert len(at.get("plotly_chart")) == 2


@pytest.mark.slow
def test_a_cell_of_the_gallery_opens_in_explain(patient_app, monkeypatch):
    from ui import explain_widgets

    for slow in ("render_comparison", "render_sanity_check"):  # Other methods' heatmaps: not what is tested here.
        monkeypatch.setattr(explain_widgets, slow, lambda *args, **kwargs: None)
    at = choose_subject(patient_app)
    buttons = [button for button in at.button if button.key and button.key.startswith("patient_explain_")]
    assert buttons, "every cell has an Explain button"
    name = texts(at.caption)  # The gallery captions start with the file names.
    buttons[0].click().run()
    assert not at.exception
    heading = texts(at.subheader)[0]
    assert heading.split(":")[0].endswith(".bmp") and any(heading.split(":")[0] in text for text in name)
    at.switch_page("app_pages/patient.py").run()  # Back again: the person is still there.
    assert any("The person last answered in this session" in text for text in texts(at.caption))
    assert ANSWER.search(texts(at.subheader)[0])


def zipped(members: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


def test_a_zip_of_cells_is_answered_and_a_hostile_zip_refused(patient_app, synthetic_data_root):
    cells = sorted((synthetic_data_root / "training_data").rglob("*.bmp"))[:4]
    good = zipped([(f"cells/{path.name}", path.read_bytes()) for path in cells]
                  + [("cells/readme.txt", b"x"), ("cells/broken.bmp", cells[0].read_bytes()[:200])])
    hostile = zipped([("../escape.bmp", cells[0].read_bytes())])
    at = patient_app
    at.file_uploader(key="patient_files").set_value([("person.zip", good, "application/zip"),
                                                     ("evil.zip", hostile, "application/zip")]).run()
    assert not at.exception
    assert any("evil.zip was refused" in text and "points outside the archive" in text for text in texts(at.error))
    assert any("person.zip: 1 file(s) that are not images" in text for text in texts(at.caption))
    assert at.metric[0].label == "Answer about the person"
    assert {metric.label: metric.value for metric in at.metric}["Cells used"].endswith("of 5")
    assert at.expander[0].label == "1 file(s) could not be used"
    assert "person.zip/cells/broken.bmp" in at.expander[0].text[0].value


def real_cells(names=CELLS) -> list[tuple[str, bytes]]:
    require(all((REAL_CELLS / name).is_file() for name in names), f"{REAL_CELLS} should hold the shared real cells")
    return [(name, (REAL_CELLS / name).read_bytes()) for name in names]


def upload(at, files: list[tuple[str, bytes]]):
    at.file_uploader(key="patient_files").set_value([(name, data, "application/octet-stream") for name, data in files])
    return at.run()


def cells_counted(at) -> int:
    """N of the "Cells used" metric's "<used> of N": how many cells the answer is about."""
    metric = {metric.label: metric.value for metric in at.metric}["Cells used"]
    return int(CELLS_USED.fullmatch(metric).group(1))


def test_cells_of_several_subjects_are_said_and_each_subject_can_be_answered(patient_app):
    at = upload(patient_app, real_cells())
    assert not at.exception
    warning = next(text for text in texts(at.warning) if "different C-NMC subjects" in text)
    assert "5 cells are named after 2 different C-NMC subjects (11, H10)" in warning
    box = at.selectbox(key="patient_subject_choice")
    assert box.options == ["All of them, as one person", "Subject 11 only (3 cells)", "Subject H10 only (2 cells)"]
    assert cells_counted(at) == 5 and texts(at.subheader)[0].startswith("uploaded cells: ")  # By default: as one person.
    at = box.select("H10").run()
    assert not at.exception
    assert cells_counted(at) == 2 and texts(at.subheader)[0].startswith("Subject H10: ")


def test_cells_of_one_subject_need_no_choice(patient_app):
    at = upload(patient_app, real_cells(CELLS[:3]))
    assert not at.exception
    assert not at.selectbox and not any("different C-NMC subjects" in text for text in texts(at.warning))
    assert cells_counted(at) == 3 and texts(at.subheader)[0].startswith("Subject 11: ")


def test_one_persons_total_is_bounded_over_all_files_and_zips(patient_app, monkeypatch):
    monkeypatch.setattr(config, "MAX_PERSON_CELLS", 4)
    cells = real_cells()
    at = upload(patient_app, [("first.zip", zipped(cells[:3])), ("second.zip", zipped(cells[3:]))])
    assert not at.exception
    assert any("These uploads hold 5 cells, more than the 4 read for one person" in text for text in texts(at.error))
    assert not at.metric  # No answer about a person from a part of the cells.


def test_each_upload_is_unpacked_and_hashed_once_across_reruns(patient_app, monkeypatch):
    from ui import patient_uploads

    calls = {"unpacked": 0, "hashed": 0}
    read_archive, digest = patient_uploads.read_archive_images, patient_uploads.content_digest

    def counted_read(*args, **kwargs):
        calls["unpacked"] += 1
        return read_archive(*args, **kwargs)

    def counted_digest(data):
        calls["hashed"] += 1
        return digest(data)

    monkeypatch.setattr(patient_uploads, "read_archive_images", counted_read)
    monkeypatch.setattr(patient_uploads, "content_digest", counted_digest)
    cells = real_cells()
    at = upload(patient_app, [("person.zip", zipped(cells[:4])), cells[4]])
    assert not at.exception and calls == {"unpacked": 1, "hashed": 5}
    for _ in range(3):  # Reruns, as any widget change makes; then another subject chosen.
        at = at.run()
    at = at.selectbox(key="patient_subject_choice").select("11").run()
    assert not at.exception and cells_counted(at) == 3
    assert calls == {"unpacked": 1, "hashed": 5}


def test_a_chosen_subject_that_is_no_longer_uploaded_falls_back_to_one_person(patient_app):
    at = upload(patient_app, real_cells())
    at = at.selectbox(key="patient_subject_choice").select("H10").run()
    at = upload(at, real_cells(("UID_11_10_1_all.png", "UID_13_12_2_all.png", "UID_13_13_3_all.png")))
    assert not at.exception
    assert at.selectbox(key="patient_subject_choice").value == "All of them, as one person"
    assert cells_counted(at) == 3


def test_a_new_error_rate_assesses_the_person_again_and_a_stale_view_is_not_shown(patient_app):
    from ui import state

    at = choose_subject(patient_app)
    assert at.session_state[state.LAST_PATIENT_KEY].key[2] == pytest.approx(0.05)
    at.number_input(key=state.ERROR_RATE_WIDGET_KEY).set_value(10.0).run()
    assert not at.exception
    assert at.session_state[state.LAST_PATIENT_KEY].key[2] == pytest.approx(0.10)  # the cells are still given: assessed at 10%
    at.radio(key="patient_source").set_value(at.radio(key="patient_source").options[0]).run()  # no file uploaded yet
    assert any("The person last answered in this session" in text for text in texts(at.caption))
    at.number_input(key=state.ERROR_RATE_WIDGET_KEY).set_value(20.0).run()
    assert not at.exception and not any("The person last answered" in text for text in texts(at.caption))
    assert any("Give the cells again to answer at the new rate" in text for text in texts(at.info))


def smear_field_png() -> bytes:
    """A synthetic smear field with three whole white cells, as PNG bytes."""
    import cv2
    import numpy as np

    from core.data.synthetic_fields import FieldLayout, draw_field

    layout = FieldLayout(size=(480, 640), red_cell_px=80.0, white_cells=((160, 150, 1.6, 3), (450, 300, 1.4, 1), (300, 380, 1.5, 4)))
    return cv2.imencode(".png", cv2.cvtColor(draw_field(layout, np.random.default_rng(0)).image_rgb, cv2.COLOR_RGB2BGR))[1].tobytes()


def test_a_smear_field_gives_each_white_cell_as_a_cell_of_the_person(patient_app):
    """A field beside a plain cell: its three white cells counted as the person's, named FIELD#k, the lymphoid-only note said."""
    at = upload(patient_app, [("smear.png", smear_field_png()), *real_cells(CELLS[:1])])
    assert not at.exception
    assert cells_counted(at) == 4
    assert any("3 white cell(s) were found in 1 smear field" in text and "only judges lymphoid cells" in text
               for text in texts(at.info))
    captions = [text for text in texts(at.caption) if text.startswith("smear.png#")]
    assert len(captions) == 3
    assert len([button for button in at.button if button.key and button.key.startswith("patient_explain_")]) == 4


def test_a_field_cell_opens_in_explain_as_its_cut_out(patient_app, monkeypatch):
    from ui import explain_widgets, state

    for slow in ("render_comparison", "render_sanity_check"):
        monkeypatch.setattr(explain_widgets, slow, lambda *args, **kwargs: None)
    at = upload(patient_app, [("smear.png", smear_field_png())])
    order = [text.split(":")[0] for text in texts(at.caption) if text.startswith("smear.png#")]
    buttons = [button for button in at.button if button.key and button.key.startswith("patient_explain_")]
    assert len(buttons) == len(order) == 3
    buttons[0].click().run()
    assert not at.exception
    assert texts(at.subheader)[0].split(":")[0] == order[0]
    assert at.session_state[state.LAST_IMAGE_KEY]["name"] == order[0]
    assert at.session_state[state.LAST_IMAGE_KEY]["digest"].endswith("#" + order[0].split("#")[1])  # its own heatmap caches, not the field's
    assert any("only judges lymphoid cells" in text for text in texts(at.info))  # Explain knows it is a field's cell


def test_explain_is_given_a_field_cells_cut_out_in_the_stain_it_was_answered_in():
    import numpy as np

    from core.imaging.decode import load_image
    from core.imaging.image_cells import CellPlace, cells_of_image
    from core.imaging.stain import SIDECAR_KEY, ReinhardNormaliser, StainStats
    from core.subjects.summary import SubjectCell
    from ui.patient_explain import field_cell

    field_rgb = load_image(smear_field_png()).image_rgb
    reference = StainStats((150.0, 150.0, 110.0), (40.0, 8.0, 10.0))
    plain_cells, _ = cells_of_image(load_image(smear_field_png()), config.IMAGE_SIZE)
    moved_cells, _ = cells_of_image(load_image(smear_field_png()), config.IMAGE_SIZE, ReinhardNormaliser(reference))
    second = CellPlace("smear.png", 2, plain_cells[1].box)
    got = field_cell(field_rgb, SubjectCell("smear.png#2", "d", place=second), {SIDECAR_KEY: reference.as_dict()},
                     config.IMAGE_SIZE).cell_rgb
    assert got.shape != field_rgb.shape and np.array_equal(got, plain_cells[1].cell_rgb)
    moved = field_cell(field_rgb, SubjectCell("smear.png#2", "d", place=second, stain="reinhard"),
                       {SIDECAR_KEY: reference.as_dict()}, config.IMAGE_SIZE).cell_rgb
    assert np.array_equal(moved, moved_cells[1].cell_rgb) and not np.array_equal(moved, got)
