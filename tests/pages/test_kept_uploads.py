"""Uploads stay with the session across pages, within a bound, and can be cleared (ui.kept_uploads)."""
from __future__ import annotations

import pytest
from apptest_helpers import open_app, texts, upload
from streamlit.testing.v1 import AppTest

from core import config
from ui.kept_uploads import KeptUpload, bounded_uploads
from ui.navigation import DEFAULT_SCREEN, SCREENS


def kept(name: str, size: int = 1) -> KeptUpload:
    return KeptUpload(name, bytes(size), name)


def test_the_oldest_go_first_when_either_bound_is_passed():
    by_count, dropped = bounded_uploads([kept("a"), kept("b")], [kept("c"), kept("d")], max_count=3, max_bytes=100)
    assert [u.name for u in by_count] == ["b", "c", "d"] and [u.name for u in dropped] == ["a"]
    by_bytes, dropped = bounded_uploads([kept("a", 40), kept("b", 40)], [kept("c", 40)], max_count=50, max_bytes=100)
    assert [u.name for u in by_bytes] == ["b", "c"] and [u.name for u in dropped] == ["a"]


def test_a_file_already_kept_is_not_added_twice():
    uploads, dropped = bounded_uploads([kept("a")], [kept("a"), kept("b")], max_count=50, max_bytes=100)
    assert [u.name for u in uploads] == ["a", "b"] and not dropped


@pytest.fixture
def app(monkeypatch, tiny_model_path, synthetic_data_root) -> AppTest:
    monkeypatch.setenv("LEUKEMIA_MODEL", str(tiny_model_path))
    monkeypatch.setenv("LEUKEMIA_DATA_DIR", str(synthetic_data_root))
    return open_app()


@pytest.fixture(scope="module")
def cells(synthetic_data_root) -> list[bytes]:
    return [path.read_bytes() for path in sorted((synthetic_data_root / "training_data").rglob("*.bmp"))[:3]]


@pytest.mark.slow
def test_uploads_and_results_survive_a_tour_of_every_page_and_can_be_cleared(app, cells):
    upload(app, [("a.bmp", cells[0]), ("b.bmp", cells[1])])
    assert list(app.dataframe[0].value["file"]) == ["a.bmp", "b.bmp"]
    for screen in SCREENS:
        if screen is not DEFAULT_SCREEN:
            app.switch_page(screen.script).run()
            assert not app.exception, screen.title
    app.switch_page(DEFAULT_SCREEN.script).run()
    assert not app.exception and list(app.dataframe[0].value["file"]) == ["a.bmp", "b.bmp"]
    assert texts(app.subheader)[-1].startswith("b.bmp: ")
    next(button for button in app.button if button.label == "Clear uploads").click().run()
    assert not app.dataframe and not app.session_state["kept_uploads"]


def test_a_file_removed_from_the_uploader_is_forgotten(app, cells):
    upload(app, [("a.bmp", cells[0]), ("b.bmp", cells[1])])
    upload(app, [("b.bmp", cells[1])])
    assert [u.name for u in app.session_state["kept_uploads"]] == ["b.bmp"]


def test_the_page_says_which_uploads_it_dropped(app, cells, monkeypatch):
    monkeypatch.setattr(config, "SESSION_MAX_UPLOADS", 2)
    upload(app, [("a.bmp", cells[0]), ("b.bmp", cells[1]), ("c.bmp", cells[2])])
    assert list(app.dataframe[0].value["file"]) == ["b.bmp", "c.bmp"]
    assert any("at most 2 uploads" in text and "dropped: a.bmp" in text for text in texts(app.info))


def report_button(app: AppTest):
    return next(button for button in app.get("download_button") if button.proto.label == "Download a report (HTML)")


def test_the_report_is_ready_when_its_button_is_drawn(app, cells):
    """A deferred download (a callable) was forgotten by the rerun that a new selection starts, so a click
    right after it found "Deferred file ... not found"; the button now carries the report's bytes."""
    upload(app, [("a.bmp", cells[0]), ("b.bmp", cells[1])])
    for choice in ("1. a.bmp", "2. b.bmp"):
        app.selectbox(key="classify_detail").set_value(choice).run()
        button = report_button(app).proto
        assert not button.HasField("deferred_file_id") and button.url.startswith("/mock/media/")


@pytest.mark.parametrize(("size", "text"), [(100, "1 KB"), (23_000, "22 KB"), (2**20 - 1, "1024 KB"), (2**20, "1.0 MB"),
                                            (int(4.2 * 2**20), "4.2 MB")])
def test_the_kept_size_is_in_kb_below_a_megabyte_never_zero_mb(size, text):
    from ui.classify_widgets import size_text

    assert size_text(size) == text
