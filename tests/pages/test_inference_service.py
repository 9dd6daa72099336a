"""The app with LEUKEMIA_INFERENCE_URL: a service that is not there, or stops answering, is a message on the page.

Stand-in services without Ray (`served_models.FakeService`); the answers through a real service are
tested in tests/core/serve/test_service.py.
"""
from __future__ import annotations

import socket

import pytest
from apptest_helpers import open_app, png_bytes, texts, upload
from served_models import FakeService, identity_of


@pytest.fixture
def cell_bytes(synthetic_data_root) -> bytes:
    """A cell no other test uploads: its answer is in no process-wide cache, so the page must ask the service."""
    from core.imaging.decode import load_image

    image_rgb = load_image(next((synthetic_data_root / "training_data").rglob("*.bmp"))).image_rgb.copy()
    image_rgb[0, 0] = (1, 2, 3)
    return png_bytes(image_rgb)


@pytest.fixture
def app_settings(monkeypatch, tiny_model_path, synthetic_data_root):
    monkeypatch.setenv("LEUKEMIA_MODEL", str(tiny_model_path))
    monkeypatch.setenv("LEUKEMIA_DATA_DIR", str(synthetic_data_root))
    return monkeypatch


def test_a_service_that_is_not_there_is_a_message_saying_how_to_start_it(app_settings):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    app_settings.setenv("LEUKEMIA_INFERENCE_URL", url)
    at = open_app()
    assert not at.exception
    assert any("did not answer" in text and url in text for text in texts(at.error))
    assert any("python -m core.serve" in text for text in texts(at.info))
    assert not at.button, "no offer to build a demo model over the service's"


def test_a_service_that_stops_answering_is_an_error_beside_the_image(app_settings, tiny_model_path, cell_bytes):
    with FakeService(identity_of(tiny_model_path), status=503, text="The replica is restarting.") as url:
        app_settings.setenv("LEUKEMIA_INFERENCE_URL", url)
        at = open_app()
        assert not at.exception
        assert any("inference service" in text for text in texts(at.sidebar.caption))
        upload(at, [("cell.png", cell_bytes)])
    assert not at.exception
    assert any("cell.png" in text and "HTTP 503: The replica is restarting" in text for text in texts(at.error))
