"""Helpers for driving the app with Streamlit's AppTest, shared by the app test modules."""
from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
from PIL import Image
from streamlit.testing.v1 import AppTest
from paths import PROJECT_ROOT

APP = str(PROJECT_ROOT / "streamlit_app.py")
TIMEOUT = 120  # The first run imports TensorFlow and loads the model.


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


def wait_for_text(at: AppTest, elements: str, text: str, seconds: float = 30) -> AppTest:
    """Rerun until some element of a kind (e.g. "info") contains `text` (AppTest runs no timers)."""
    deadline = time.monotonic() + seconds
    while not any(text in value for value in texts(getattr(at, elements))):
        assert time.monotonic() < deadline, f"no {elements} saying {text!r}"
        time.sleep(0.1)
        at.run()
    return at


def wait_for_model_page(at: AppTest, seconds: float = 30) -> AppTest:
    """Rerun until the build is over and the uploader shows."""
    deadline = time.monotonic() + seconds
    while not at.file_uploader:
        assert time.monotonic() < deadline, "the app did not carry on after the demo build"
        time.sleep(0.2)
        at.run()
    return at
