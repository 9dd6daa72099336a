"""First launch through AppTest: no model, the demo build offer, one build for all sessions, failures.

The build runs in a child process (`ui.demo_build`); here it runs a stand-in from
`tests/fake_builds.py` that copies the tiny model instead of training.
"""
from __future__ import annotations

import pytest
from apptest_helpers import build_job, open_app, texts, upload, wait_for_build_end, wait_for_model_page

from core import config


@pytest.fixture(scope="module")
def cell_bytes(synthetic_data_root) -> bytes:
    return next((synthetic_data_root / "training_data").rglob("*.bmp")).read_bytes()


@pytest.fixture
def first_launch(monkeypatch, fake_build_env, synthetic_data_root):
    """An app with no model at LEUKEMIA_MODEL whose demo build copies the tiny model instead of training."""
    from ui import demo_build

    model_path = fake_build_env / "models" / "demo.keras"
    monkeypatch.setenv("LEUKEMIA_MODEL", str(model_path))
    monkeypatch.setenv("LEUKEMIA_DATA_DIR", str(synthetic_data_root))
    monkeypatch.setattr(demo_build, "BUILDER", "fake_builds:copy_tiny_model")
    return model_path, fake_build_env / "release", fake_build_env / "calls.txt"


@pytest.mark.slow
def test_first_launch_offers_the_demo_build_and_carries_on(first_launch, cell_bytes):
    model_path, release, calls = first_launch
    at = open_app()
    assert not at.exception
    assert any("There is no model yet" in text for text in texts(at.info))
    assert any("No model yet" in text for text in texts(at.sidebar.caption))
    at.button[0].click().run()
    assert not at.exception
    assert any("being built" in text for text in texts(at.info)), "the click starts the build and reruns"
    assert at.get("progress"), "a progress bar shows while building"
    # A second session sees the same build, started by someone else, and no second button.
    other = open_app()
    assert any("Another session started" in text for text in texts(other.info))
    assert not other.button
    release.touch()
    wait_for_model_page(at)
    assert calls.read_text().split() == [str(model_path), str(config.DEMO_DATA_ROOT)]
    upload(at, [("after_build.bmp", cell_bytes)])
    assert not at.exception and texts(at.subheader)[0].startswith("after_build.bmp: ")
    wait_for_model_page(other)


def test_a_corrupt_model_file_is_reported_without_offering_to_overwrite_it(monkeypatch, tmp_path, synthetic_data_root):
    broken = tmp_path / "broken.keras"
    broken.write_bytes(b"not a keras archive")
    monkeypatch.setenv("LEUKEMIA_MODEL", str(broken))
    monkeypatch.setenv("LEUKEMIA_DATA_DIR", str(synthetic_data_root))
    at = open_app()
    assert not at.exception
    assert any("could not be loaded" in text and "broken.keras" in text for text in texts(at.error))
    assert not at.button, "a build would overwrite the user's file"


def test_a_failed_build_says_why_and_offers_a_retry(monkeypatch, fake_build_env, synthetic_data_root):
    from ui import demo_build

    monkeypatch.setenv("LEUKEMIA_MODEL", str(fake_build_env / "never.keras"))
    monkeypatch.setenv("LEUKEMIA_DATA_DIR", str(synthetic_data_root))
    monkeypatch.setattr(demo_build, "BUILDER", "fake_builds:fail_readably")
    at = open_app()
    at.button[0].click().run()
    wait_for_build_end(at)
    assert any("The disk is full" in text for text in texts(at.error))
    assert not at.exception
    assert at.button[0].label == "Build the demo model"


@pytest.mark.slow
def test_while_building_every_page_says_so_with_the_step(monkeypatch, fake_build_env, synthetic_data_root):
    """Explain, Model card and Dataset explorer in another session say "being built", not "there is no model"."""
    from ui import demo_build

    monkeypatch.setenv("LEUKEMIA_MODEL", str(fake_build_env / "models" / "demo.keras"))
    monkeypatch.setenv("LEUKEMIA_DATA_DIR", str(synthetic_data_root))
    monkeypatch.setattr(demo_build, "BUILDER", "fake_builds:epochs_then_evaluation")
    at = open_app()
    at.button[0].click().run()
    assert any("being built" in text for text in texts(at.info))
    other = open_app()
    for page in ("app_pages/explain.py", "app_pages/model.py"):
        other.switch_page(page).run()
        assert not other.exception
        assert any("being built" in text for text in texts(other.info)), page
        assert not any("There is no model" in text for text in texts(other.info)), page
        assert any("being built" in text for text in texts(other.sidebar.caption)), page
    assert build_job().wait_for_step(demo_build.EVALUATING, 60), build_job().status()
    other.run()
    assert "Step 3 of 3: evaluating" in other.get("progress")[0].proto.text
    assert "no estimate" in other.get("progress")[0].proto.text
    (fake_build_env / "release").touch()
    wait_for_model_page(at)
