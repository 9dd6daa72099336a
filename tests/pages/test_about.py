"""About describes the recipe of the model in use, from its card, apart from the full recipe for real data."""
from __future__ import annotations

import json

from model_files import install_model
from paths import PROJECT_ROOT
from streamlit.testing.v1 import AppTest

from core.reporting.recipe import recipe_lines

PAGE = str(PROJECT_ROOT / "app_pages" / "about.py")


def markdown_of(app: AppTest) -> str:
    return "\n".join(str(element.value) for element in app.markdown)


def test_about_reads_the_demo_models_recipe_from_its_card(monkeypatch, trained_model_path, trained_sidecar_text, tmp_path):
    sidecar = json.loads(trained_sidecar_text)  # The demo recipe: 96 px, random weights, one phase.
    monkeypatch.setenv("LEUKEMIA_MODEL", str(install_model(trained_model_path, tmp_path, sidecar)))
    app = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not app.exception
    headers = [header.value for header in app.header]
    assert headers.index("The model in use") < headers.index("The full recipe (real C-NMC data)")
    in_use = markdown_of(app).split("1. **Preprocessing**")[0]
    size = sidecar["image_size"]
    assert f"{size} × {size}" in in_use and "random weights" in in_use and "one phase" in in_use
    assert "224 × 224" not in in_use and "224 × 224" in markdown_of(app)  # The full recipe, apart.
    assert "demo model" in " ".join(str(warning.value) for warning in app.warning)


def test_about_without_a_model_says_so(monkeypatch, tmp_path):
    monkeypatch.setenv("LEUKEMIA_MODEL", str(tmp_path / "missing.keras"))
    app = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not app.exception and "No model is loaded yet" in " ".join(str(info.value) for info in app.info)


def test_an_imagenet_recipe_names_both_phases():
    metadata = {"image_size": 224, "weights": "imagenet", "threshold": 0.5166260600090027, "data": {"synthetic": False},
                "arguments": {"epochs": 10, "fine_tune_epochs": 20, "learning_rate": 0.001, "fine_tune_learning_rate": 1e-05,
                              "batch_size": 32, "patience": 5, "weights": "imagenet"}}
    text = "\n".join(recipe_lines(metadata))
    assert "224 × 224" in text and "ImageNet" in text and "frozen base" in text and "20 more" in text
    assert "0.517" in text and "0.5166" not in text
