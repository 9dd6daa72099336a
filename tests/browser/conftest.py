"""A real Streamlit server and a headless Chromium for the browser tests.

The server runs `streamlit run streamlit_app.py` on a free loopback port with the session's
tiny model and small synthetic dataset. Chromium is Debian's (`apt-get install chromium`),
found at /usr/bin/chromium, as `chromium` on PATH or at /usr/lib/chromium/chromium;
Playwright's own browser download is never used. Without Chromium or the `playwright`
package every browser test is skipped, or fails under CI (see `tests/requirements.py`).
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from requirements import CHROMIUM_HINT, PLAYWRIGHT_HINT, require, under_ci

# Where Debian's chromium package puts the browser: the launcher, then the binary itself.
CHROMIUM_CANDIDATES = (Path("/usr/bin/chromium"), Path("/usr/lib/chromium/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = PROJECT_ROOT / "screenshots"
SERVER_START_TIMEOUT_S = 90


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


def pytest_collection_modifyitems(config, items):
    """Outside CI, skip the browser tests up front when the browser or its driver is missing.

    Under CI they are left to run: the `browser` fixture then fails each one with the reason.
    """
    reason = missing_browser_reason()
    if reason and not under_ci():
        browser_dir = Path(__file__).parent
        for item in items:
            if browser_dir in Path(item.fspath).parents:
                item.add_marker(pytest.mark.skip(reason=reason))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_healthy(url: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"streamlit did not answer on {url} within {SERVER_START_TIMEOUT_S} s:\n{log_path.read_text()[-3000:]}")


def start_server(model_path: Path, data_dir: Path, log_path: Path) -> tuple[str, subprocess.Popen]:
    """Start `streamlit run streamlit_app.py` on a free loopback port; returns (base URL, process)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "LEUKEMIA_MODEL": str(model_path), "LEUKEMIA_DATA_DIR": str(data_dir), "TF_CPP_MIN_LOG_LEVEL": "2"}
    command = [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.headless", "true",
               "--server.address", "127.0.0.1", "--server.port", str(port), "--server.fileWatcherType", "none",
               "--browser.gatherUsageStats", "false"]
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_healthy(url, process, log_path)
    except BaseException:
        stop_server(process)
        raise
    return url, process


def stop_server(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def server(tiny_model_path, synthetic_data_root, tmp_path_factory, browser):
    """Base URL of a running app, warmed up by one visit to its root (model loaded, routing settled)."""
    url, process = start_server(tiny_model_path, synthetic_data_root, tmp_path_factory.mktemp("server") / "streamlit.log")
    try:
        context = browser.new_context()
        context.new_page().goto(url)
        context.pages[0].get_by_text("For research and education only").first.wait_for(timeout=SERVER_START_TIMEOUT_S * 1000)
        context.close()
        yield url
    finally:
        stop_server(process)


@pytest.fixture
def fresh_server(tiny_model_path, synthetic_data_root, tmp_path):
    """A server nobody has visited yet, for what only happens on a first visit."""
    url, process = start_server(tiny_model_path, synthetic_data_root, tmp_path / "streamlit.log")
    try:
        yield url
    finally:
        stop_server(process)


@pytest.fixture
def markup_model_server(tiny_model_path, synthetic_data_root, tmp_path, browser):
    """(URL, server log) of an app whose LEUKEMIA_MODEL has a layer class named like a Markdown link and image."""
    from model_files import markup_class_model

    log_path = tmp_path / "streamlit.log"
    url, process = start_server(markup_class_model(tiny_model_path, tmp_path / "model"), synthetic_data_root, log_path)
    try:
        yield url, log_path
    finally:
        stop_server(process)


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
def demo_server(tiny_model_path, synthetic_data_root, tmp_path_factory, browser):
    """A running app whose model says it is the demo model and has a split CSV beside it.

    Half the training subjects are "validation" (held out) and half "train" (seen in training).
    """
    from model_files import install_demo_model

    folder = tmp_path_factory.mktemp("demo_model")
    model_path = install_demo_model(tiny_model_path, folder, synthetic_data_root)
    url, process = start_server(model_path, synthetic_data_root, folder / "streamlit.log")
    try:
        yield url
    finally:
        stop_server(process)


@pytest.fixture
def trained_server(trained_model_path, synthetic_data_root, tmp_path, browser):
    """A running app on the session's demo run (`train.py --demo --dry-run`): a real model card, every key in it."""
    url, process = start_server(trained_model_path, synthetic_data_root, tmp_path / "streamlit.log")
    try:
        yield url
    finally:
        stop_server(process)
