"""The Patient page's uploads through AppTest: several C-NMC subjects said and offered one by one, one person's
total bounded, each upload unpacked and hashed once however often the page reruns.

The cells are real C-NMC cells saved as PNG (shared/data/real_cells), whose names carry their subjects.
"""
from __future__ import annotations

import io
import re
import zipfile

import pytest
from apptest_helpers import open_app, texts

from core import config
from paths import REAL_CELLS
from requirements import require

# Three cells of subject 11 and two of the healthy subject H10 (both with more in real_cells/).
CELLS = ("UID_11_10_1_all.png", "UID_11_25_2_all.png", "UID_11_28_1_all.png", "UID_H10_105_4_hem.png", "UID_H10_107_1_hem.png")
CELLS_USED = re.compile(r"\d+ of (\d+)")


@pytest.fixture
def patient_page(monkeypatch, tiny_model_path, synthetic_data_root):
    monkeypatch.setenv("LEUKEMIA_MODEL", str(tiny_model_path))
    monkeypatch.setenv("LEUKEMIA_DATA_DIR", str(synthetic_data_root))
    at = open_app()
    at.switch_page("app_pages/patient.py").run()
    assert not at.exception
    return at


def real_cells(names=CELLS) -> list[tuple[str, bytes]]:
    require(all((REAL_CELLS / name).is_file() for name in names), f"{REAL_CELLS} should hold the shared real cells")
    return [(name, (REAL_CELLS / name).read_bytes()) for name in names]


def zipped(members: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


def upload(at, files: list[tuple[str, bytes]]):
    at.file_uploader(key="patient_files").set_value([(name, data, "application/octet-stream") for name, data in files])
    return at.run()


def cells_counted(at) -> int:
    """N of the "Cells used" metric's "<used> of N": how many cells the answer is about."""
    metric = {metric.label: metric.value for metric in at.metric}["Cells used"]
    return int(CELLS_USED.fullmatch(metric).group(1))


def test_cells_of_several_subjects_are_said_and_each_subject_can_be_answered(patient_page):
    at = upload(patient_page, real_cells())
    assert not at.exception
    warning = next(text for text in texts(at.warning) if "different C-NMC subjects" in text)
    assert "5 cells are named after 2 different C-NMC subjects (11, H10)" in warning
    box = at.selectbox(key="patient_subject_choice")
    assert box.options == ["All of them, as one person", "Subject 11 only (3 cells)", "Subject H10 only (2 cells)"]
    assert cells_counted(at) == 5 and texts(at.subheader)[0].startswith("uploaded cells: ")  # By default: as one person.
    at = box.select("H10").run()
    assert not at.exception
    assert cells_counted(at) == 2 and texts(at.subheader)[0].startswith("Subject H10: ")


def test_cells_of_one_subject_need_no_choice(patient_page):
    at = upload(patient_page, real_cells(CELLS[:3]))
    assert not at.exception
    assert not at.selectbox and not any("different C-NMC subjects" in text for text in texts(at.warning))
    assert cells_counted(at) == 3 and texts(at.subheader)[0].startswith("Subject 11: ")


def test_one_persons_total_is_bounded_over_all_files_and_zips(patient_page, monkeypatch):
    monkeypatch.setattr(config, "MAX_PERSON_CELLS", 4)
    cells = real_cells()
    at = upload(patient_page, [("first.zip", zipped(cells[:3])), ("second.zip", zipped(cells[3:]))])
    assert not at.exception
    assert any("These uploads hold 5 cells, more than the 4 read for one person" in text for text in texts(at.error))
    assert not at.metric  # No answer about a person from a part of the cells.


def test_each_upload_is_unpacked_and_hashed_once_across_reruns(patient_page, monkeypatch):
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
    at = upload(patient_page, [("person.zip", zipped(cells[:4])), cells[4]])
    assert not at.exception and calls == {"unpacked": 1, "hashed": 5}
    for _ in range(3):  # Reruns, as any widget change makes; then another subject chosen.
        at = at.run()
    at = at.selectbox(key="patient_subject_choice").select("11").run()
    assert not at.exception and cells_counted(at) == 3
    assert calls == {"unpacked": 1, "hashed": 5}


def test_a_chosen_subject_that_is_no_longer_uploaded_falls_back_to_one_person(patient_page):
    at = upload(patient_page, real_cells())
    at = at.selectbox(key="patient_subject_choice").select("H10").run()
    at = upload(at, real_cells(("UID_11_10_1_all.png", "UID_13_12_2_all.png", "UID_13_13_3_all.png")))
    assert not at.exception
    assert at.selectbox(key="patient_subject_choice").value == "All of them, as one person"
    assert cells_counted(at) == 3
