"""A real Streamlit server and a headless Chromium for the browser tests.

Servers come from one place, `app_server.serving`: `server` (the session's tiny model and small
synthetic dataset, warmed up), `demo_server` (the same model as the demo, with a split CSV), and
`start_app` for a server of one test's own (a fresh one, or on another model). Chromium is Debian's
(`apt-get install chromium`), found at /usr/bin/chromium, as `chromium` on PATH or at
/usr/lib/chromium/chromium; Playwright's own browser download is never used. Without Chromium or the `playwright`
package every browser test is skipped, or fails under CI (see `tests/requirements.py`).
"""
from __future__ import annotations

import os
import shutil
from contextlib import ExitStack
from pathlib import Path

import pytest
from app_server import RunningApp, serving
from requirements import CHROMIUM_HINT, PLAYWRIGHT_HINT, require, under_ci

# Where Debian's chromium package puts the browser: the launcher, then the binary itself.
CHROMIUM_CANDIDATES = (Path("/usr/bin/chromium"), Path("/usr/lib/chromium/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = PROJECT_ROOT / "screenshots"


def find_chromium() -> Path | None:
    """Debian's Chromium: /usr/bin/chromium, `chromium` on PATH, or /usr/lib/chromium/chromium."""
    on_path = shutil.which("chromium")
    candidates = [CHROMIUM_CANDIDATES[0], *([Path(on_path)] if on_path else []), *CHROMIUM_CANDIDATES[1:]]
    return next((path for path in candidates if path.is_file() and os.access(path, os.X_OK)), None)


def missing_browser_reason() -> str | None:
    """What the browser tests lack and how to get it, or None when Chromium and Playwright are there."""
    if find_chromium() is None:
        searched = ", ".join(map(str, CHROMIUM_CANDIDATES))
        return f"Chromium is missing (looked for {searched} and `chromium` on PATH): {CHROMIUM_HINT}"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return f"the playwright package is not installed: {PLAYWRIGHT_HINT}"
    return None


@pytest.hookimpl(tryfirst=True)  # Before `-m` selects by marker.
def pytest_collection_modifyitems(config, items):
    """Mark every test of this folder `browser`; outside CI, skip them up front when the browser or its driver is missing.

    Under CI they are left to run: the `browser` fixture then fails each one with the reason.
    """
    browser_dir = Path(__file__).parent
    here = [item for item in items if browser_dir in Path(item.fspath).parents]
    reason = missing_browser_reason()
    for item in here:
        item.add_marker(pytest.mark.browser)
        if reason and not under_ci():
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def browser():
    require(missing_browser_reason() is None, str(missing_browser_reason()))
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(find_chromium()), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    return SCREENSHOTS


@pytest.fixture(scope="session")
def server(tiny_model_path, synthetic_data_root, tmp_path_factory, browser):
    """Base URL of the app on the session's tiny model and data, warmed up by one visit, shared by the session."""
    with serving(tiny_model_path, synthetic_data_root, tmp_path_factory.mktemp("server") / "streamlit.log",
                 warm_up_with=browser) as app:
        yield app.url


@pytest.fixture(scope="session")
def demo_server(tiny_model_path, synthetic_data_root, tmp_path_factory, browser):
    """Base URL of an app whose model says it is the demo model and has a split CSV beside it, shared by the session.

    Half the training subjects are "validation" (held out) and half "train" (seen in training).
    """
    from model_files import install_demo_model

    folder = tmp_path_factory.mktemp("demo_model")
    model_path = install_demo_model(tiny_model_path, folder, synthetic_data_root)
    with serving(model_path, synthetic_data_root, folder / "streamlit.log") as app:
        yield app.url


@pytest.fixture
def start_app(tiny_model_path, synthetic_data_root, tmp_path, browser):
    """Start apps nobody has visited yet, for one test; each is stopped when the test ends.

    Call it as `start_app()` for the session's tiny model, or `start_app(model_path)` for another;
    it returns a `RunningApp` (its `url`, and the `log_path` of the server's output).
    """
    with ExitStack() as servers:
        def start(model_path: Path | None = None, data_dir: Path | None = None) -> RunningApp:
            log_path = tmp_path / f"streamlit-{len(list(tmp_path.glob('streamlit-*.log')))}.log"
            return servers.enter_context(serving(model_path or tiny_model_path, data_dir or synthetic_data_root, log_path))

        yield start
