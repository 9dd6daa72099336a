"""Several sessions of one server share one bound on what they keep (ui.server_memory); nothing goes silently.

AppTest sessions in one process share the server's caches and store, as a real server's sessions do.
Each uploads a distinct PNG of a few tens of KB that decodes to 3000 x 3000 px (12 MB once downscaled).
"""
from __future__ import annotations

import pytest
from apptest_helpers import open_app, texts, upload

from benchmarks.common import large_png
from core import config
from ui import server_memory
from ui.byte_cache import array_bytes
from ui.state import LAST_IMAGE_KEY, UPLOADS_KEY

MB = 1024 * 1024
SESSIONS = 4


@pytest.fixture
def sessions(monkeypatch, tiny_model_path, synthetic_data_root):
    """Four sessions of one server whose store keeps 30 MB for all of them: two sessions' last images."""
    monkeypatch.setenv("LEUKEMIA_MODEL", str(tiny_model_path))
    monkeypatch.setenv("LEUKEMIA_DATA_DIR", str(synthetic_data_root))
    monkeypatch.setattr(config, "SESSION_STORE_BYTES", 30 * MB)
    server_memory._store.clear()
    yield [open_app() for _ in range(SESSIONS)]
    server_memory._store.clear()


@pytest.mark.slow
def test_sessions_keep_names_and_the_server_keeps_the_bytes_within_its_bound(sessions):
    for number, app in enumerate(sessions):
        upload(app, [(f"large-{number}.png", large_png(number, 3000))])
        assert not app.exception and texts(app.subheader)[-1].startswith(f"large-{number}.png: ")  # An answer each.
        assert server_memory._store().total_bytes <= 30 * MB
        kept_in_session = [app.session_state[UPLOADS_KEY], app.session_state[LAST_IMAGE_KEY]]
        assert array_bytes(kept_in_session) < 1024  # Names and digests: no bytes, no arrays.


def test_a_session_whose_upload_and_image_were_let_go_is_told_and_can_upload_again(sessions):
    for number, app in enumerate(sessions):
        upload(app, [(f"large-{number}.png", large_png(number, 3000))])
    first = sessions[0]  # Idle longest: its entries went first.
    first.switch_page("app_pages/explain.py").run()
    assert not first.exception
    assert any("large-0.png" in text and "let go" in text and "Classify it again" in text for text in texts(first.info))
    first.switch_page("app_pages/classify.py").run()  # The uploader is new and empty; the kept upload was let go.
    assert not first.exception and not first.subheader
    assert any("large-0.png" in text and "Upload them again" in text for text in texts(first.info))
    upload(first, [("large-0.png", large_png(0, 3000))])
    assert texts(first.subheader)[-1].startswith("large-0.png: ")
    last = sessions[-1]  # Ran last: it keeps everything.
    last.switch_page("app_pages/explain.py").run()
    assert not last.exception and "large-3.png" in texts(last.subheader)[0]
