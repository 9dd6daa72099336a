"""The one way the browser tests run the app: `streamlit run streamlit_app.py` on a free loopback port.

`serving(...)` starts a server on the given model and data folder, waits until it says it
listens (its own "You can now view your Streamlit app" line, read from its output, not a
polled health check), optionally visits it once, and stops it on leaving the block.

>>> with serving(model_path, data_dir, tmp_path / "streamlit.log") as app:  # doctest: +SKIP
...     page.goto(app.url)
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SERVER_START_TIMEOUT_S = 90
STOP_TIMEOUT_S = 10
# Streamlit prints this once its HTTP server is listening (streamlit.web.bootstrap._on_server_start).
READY_LINE = "You can now view your Streamlit app"
NOTICE_TEXT = "For research and education only"


@dataclass(frozen=True)
class RunningApp:
    """A started server: its base URL (no trailing slash), the file its output goes to and its process id."""

    url: str
    log_path: Path
    pid: int = 0  # For reading the server's own memory (/proc/PID/status), as benchmarks/sessions.py does.


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_command(port: int) -> list[str]:
    """`streamlit run streamlit_app.py`, headless, on 127.0.0.1:`port`, without file watching or telemetry."""
    return [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.headless", "true",
            "--server.address", "127.0.0.1", "--server.port", str(port), "--server.fileWatcherType", "none",
            "--browser.gatherUsageStats", "false"]


def copy_output(stream, log_path: Path, ready: threading.Event) -> None:
    """Copy the server's output into its log line by line; set `ready` at the listening line and at the end."""
    with open(log_path, "w") as log:
        for line in stream:
            log.write(line)
            log.flush()
            if READY_LINE in line:
                ready.set()
    ready.set()  # The output ended: the server exited (the caller tells which).


def wait_until_listening(process: subprocess.Popen, reader: threading.Thread, ready: threading.Event,
                         log_path: Path) -> None:
    """Block until the server says it listens; raise with the end of its log when it exits or takes too long."""
    if not ready.wait(SERVER_START_TIMEOUT_S):
        raise RuntimeError(f"streamlit did not start within {SERVER_START_TIMEOUT_S} s:\n{log_path.read_text()[-3000:]}")
    if not reader.is_alive():  # Its output ended before the listening line: it exited.
        process.wait(STOP_TIMEOUT_S)
        raise RuntimeError(f"streamlit exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")


def stop(process: subprocess.Popen) -> None:
    """Terminate the server, killing it if it does not stop within STOP_TIMEOUT_S."""
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT_S)


def warm_up(browser, url: str) -> None:
    """Visit the app once and wait for the research-only notice: the model is loaded, routing settled."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(url)
        page.get_by_text(NOTICE_TEXT).first.wait_for(timeout=SERVER_START_TIMEOUT_S * 1000)
    finally:
        context.close()


@contextmanager
def serving(model_path: Path, data_dir: Path, log_path: Path, warm_up_with=None) -> Iterator[RunningApp]:
    """Run the app on `model_path` and `data_dir` for the block; `warm_up_with` a browser visits it first.

    Args:
        model_path: the `.keras` model (LEUKEMIA_MODEL); data_dir: the C-NMC folder (LEUKEMIA_DATA_DIR).
        log_path: where the server's output goes (read it for what the operator sees).
        warm_up_with: a Playwright browser to visit the app once before the block, or None for a server
            nobody has visited yet.
    """
    port = free_port()
    env = {**os.environ, "LEUKEMIA_MODEL": str(model_path), "LEUKEMIA_DATA_DIR": str(data_dir),
           "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(server_command(port), cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    ready = threading.Event()
    reader = threading.Thread(target=copy_output, args=(process.stdout, log_path, ready), daemon=True)
    reader.start()
    try:
        wait_until_listening(process, reader, ready, log_path)
        app = RunningApp(f"http://127.0.0.1:{port}", log_path, process.pid)
        if warm_up_with is not None:
            warm_up(warm_up_with, app.url)
        yield app
    finally:
        stop(process)
        reader.join(STOP_TIMEOUT_S)
