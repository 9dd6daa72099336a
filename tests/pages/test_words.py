"""One vocabulary on every page a person reads: ALL/Healthy, "held-out subjects" and "external set", no "None".

Each page is rendered with AppTest on the demo run's model (its card holds both evaluated sets) and
the session's synthetic data, with a table of one good and one bad upload on Classify, and the
text of every element, table and chart title is scanned.
"""
from __future__ import annotations

import json
import re

import numpy as np
import pytest
from apptest_helpers import open_app, png_bytes, upload
from model_files import install_model

from ui.navigation import SCREENS

# Each pattern names what a person must not read, with the words that replace it.
FORBIDDEN = {
    r"\bNone\b": 'an empty cell or field shows "None"',
    r"(?i)validation(?!_data)": '"validation" for the held-out subjects or the external set',
    r"\bhem\b": 'the code "hem" instead of "Healthy"',
    r"P\(all\)|\btrue all\b|\bclass all\b|· all\b|\"all\"": 'the code "all" instead of "ALL"',
}
PAGES = [screen.script for screen in SCREENS]
TEXT_ELEMENTS = ("title", "header", "subheader", "markdown", "caption", "info", "warning", "error", "success", "toast")


def rendered_text(at) -> str:
    """Every string a person reads on the page: texts, metrics, tables, widget labels and options, chart titles."""
    parts = [str(element.value) for kind in TEXT_ELEMENTS for element in getattr(at, kind, [])]
    parts += [f"{metric.label} {metric.value}" for metric in at.metric]
    for table in (element.value for kind in ("table", "dataframe") for element in getattr(at, kind)):
        # A browser draws a missing cell (None, NaN) as a faded "None".
        parts += [table.to_string(), *["None"] * int(table.isna().to_numpy().sum())]
    for kind in ("radio", "selectbox", "slider", "number_input", "button", "checkbox"):
        for widget in getattr(at, kind):
            parts.append(str(widget.label))
            if kind in ("radio", "selectbox"):
                parts += [str(option) for option in widget.options]
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        layout = spec.get("layout", {})
        parts += [str((layout.get("title") or {}).get("text", ""))]
        parts += [str((layout.get(axis) or {}).get("title", {}).get("text", "")) for axis in layout if axis.startswith(("xaxis", "yaxis"))]
        parts += [str(trace.get("name", "")) for trace in spec.get("data", [])]
    return "\n".join(parts).replace("\\", "")


def problems(text: str) -> list[str]:
    found = []
    for pattern, meaning in FORBIDDEN.items():
        for match in re.finditer(pattern, text):
            context = text[max(0, match.start() - 60): match.end() + 60].replace("\n", " ")
            found.append(f"{meaning}: …{context}…")
    return found


@pytest.fixture(scope="module")
def card_model(trained_model_path, trained_sidecar_text, tmp_path_factory):
    return install_model(trained_model_path, tmp_path_factory.mktemp("words"), json.loads(trained_sidecar_text))


@pytest.mark.parametrize("page", PAGES)
def test_pages_use_the_one_vocabulary(monkeypatch, card_model, synthetic_data_root, page):
    monkeypatch.setenv("LEUKEMIA_MODEL", str(card_model))
    monkeypatch.setenv("LEUKEMIA_DATA_DIR", str(synthetic_data_root))
    at = open_app()
    if page != "app_pages/classify.py":
        at.switch_page(page).run()
    else:  # A table with an answer and an error row, the "None" cells' usual place.
        cell = next((synthetic_data_root / "training_data").rglob("*.bmp")).read_bytes()
        upload(at, [("good_cell.bmp", cell), ("broken.png", png_bytes(np.zeros((4, 4, 3), np.uint8))[:20])])
    if page == "app_pages/dataset.py":
        next(button for button in at.button if button.label == "Details").click().run()
    assert not at.exception, [exception.value for exception in at.exception]
    texts = [rendered_text(at)]
    if page == "app_pages/model.py":
        at.radio(key="model_card_set").set_value("external").run()
        texts.append(rendered_text(at))
    assert problems("\n".join(texts)) == []
