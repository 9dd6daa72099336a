"""Helpers for driving the app with Streamlit's AppTest, shared by the app test modules."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image
from streamlit.testing.v1 import AppTest
from paths import PROJECT_ROOT

APP = str(PROJECT_ROOT / "streamlit_app.py")
TIMEOUT = 120  # The first run imports TensorFlow and loads the model.
BUILD_WAIT_S = 60  # A stand-in build (tests/fake_builds.py) ends in seconds once released.


def png_bytes(image_rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image_rgb).save(buffer, format="PNG")
    return buffer.getvalue()


def open_app() -> AppTest:
    """The app's entrypoint, run once (set LEUKEMIA_MODEL and LEUKEMIA_DATA_DIR first)."""
    return AppTest.from_file(APP, default_timeout=TIMEOUT).run()


def upload(at: AppTest, files: list[tuple[str, bytes]]) -> AppTest:
    at.file_uploader(key="classify_uploads").set_value([(name, data, "application/octet-stream") for name, data in files])
    return at.run()


def texts(elements) -> list[str]:
    # Undo ui.messages.plain: its Markdown escapes and the invisible word joiners it adds.
    return [element.value.replace("\\", "").replace("\u2060", "") for element in elements]


def build_job():
    """The process-wide demo build every AppTest session shares (`ui.cache.demo_build_job`)."""
    from ui import cache

    return cache.demo_build_job()


def wait_for_model_page(at: AppTest, seconds: float = BUILD_WAIT_S) -> AppTest:
    """Block until the demo build ends (its own event, not polling), rerun once, and expect the uploader.

    AppTest runs no timers, so the page learns of the end only by this rerun.
    """
    assert build_job().wait(seconds), f"the demo build did not end within {seconds} s"
    at.run()
    assert at.file_uploader, "the app did not carry on after the demo build"
    return at


def wait_for_build_end(at: AppTest, seconds: float = BUILD_WAIT_S) -> AppTest:
    """Block until the demo build ends, whatever its outcome, and rerun the page once to show it."""
    assert build_job().wait(seconds), f"the demo build did not end within {seconds} s"
    return at.run()
