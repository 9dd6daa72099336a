"""Server memory while 30 browser sessions at once each upload a different small PNG decoding to 6000 x 6000 px.

A Streamlit server on 127.0.0.1 (the browser tests' `app_server.serving`) runs the app on a full-size (224 px)
ResNet50 with random weights. Headless Chromium opens one browser context per session, sends every upload before
awaiting any answer, so that the 30 script runs overlap on the server, and then waits until each session shows its
answer or a clear message naming its file. These are real websocket sessions, not AppTest ones: AppTest runs one
script at a time in the calling thread, so it cannot overlap 30 decodes, and overlapping decodes (each about 350 MB
at its peak) are what exhausts a server's memory. The figure is the server process's peak resident memory (VmHWM)
from the first upload to the last answer, against the 2.5 GB goal; its peak while loading the model is printed too.
"""
from __future__ import annotations

import sys
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.common import ROOT, large_png, verdict

SESSIONS = 30
SIDE = 6000
BOUND_MIB = 2.5 * 1024
ANSWER_TIMEOUT_MS = 900_000  # 30 large images on a loaded 2-core machine: minutes, not seconds.


def memory_mib(pid: int) -> dict[str, float]:
    """The process's resident memory now (VmRSS) and at its peak (VmHWM), in MiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return {field: round(int(status.split(f"{field}:")[1].split()[0]) / 1024, 1) for field in ("VmRSS", "VmHWM")}


def reset_peak(pid: int) -> None:
    """Start the process's VmHWM again from its resident memory now (Linux's clear_refs, "5")."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


class PeakWatch(threading.Thread):
    """Samples a process's VmRSS every 0.1 s, as a check on VmHWM (and to see when the peak came)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak_mib, self.peak_at_s = pid, 0.0, 0.0
        self.stopped = threading.Event()
        self.start_time = time.perf_counter()

    def run(self) -> None:
        while not self.stopped.wait(0.1):
            rss = memory_mib(self.pid)["VmRSS"]
            if rss > self.peak_mib:
                self.peak_mib, self.peak_at_s = rss, time.perf_counter() - self.start_time


def full_size_model(folder: Path) -> Path:
    """A randomly initialised 224 px ResNet50 classifier saved with its sidecar, as the app loads one."""
    from core.model.network import build_classifier
    from core.model.store import base_metadata, save_model

    path = folder / "sessions.keras"
    save_model(build_classifier(224, weights=None), path, base_metadata(224))
    return path


def open_sessions(browser, url: str, count: int) -> list:
    """`count` pages of the Classify screen, each in its own browser context (its own Streamlit session)."""
    pages = [browser.new_context(viewport={"width": 1200, "height": 900}).new_page() for _ in range(count)]
    for page in pages:  # Load all at once, then wait for each.
        page.set_default_timeout(ANSWER_TIMEOUT_MS)
        page.goto(url, wait_until="commit")
    for page in pages:
        page.locator("h1").first.wait_for()
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').wait_for(state="attached")
    return pages


def outcome(page, name: str) -> tuple[str, str]:
    """("answer", heading) once the page shows `name`'s answer, or ("message", text) for an alert naming it."""
    from streamlit_page import result_heading

    answer = result_heading(page, name)
    message = page.get_by_test_id("stAlert").filter(has_text=name)
    answer.or_(message).first.wait_for()
    if answer.count():
        return "answer", answer.first.inner_text()
    return "message", message.first.inner_text()


def drive(browser, url: str, sessions: int, side: int) -> dict:
    """Upload one distinct side x side PNG in each of `sessions` sessions at once; what each showed, and when."""
    from streamlit_page import upload

    files = [(f"large-{number:02d}.png", large_png(number, side)) for number in range(sessions)]
    pages = open_sessions(browser, url, sessions)
    try:
        started = time.perf_counter()
        for page, (name, data) in zip(pages, files):
            upload(page, [(name, data, "image/png")])
        shown, seconds = [], []
        for page, (name, _) in zip(pages, files):
            shown.append(outcome(page, name))
            seconds.append(time.perf_counter() - started)
        crashed = sum(page.get_by_test_id("stException").count() > 0 for page in pages)
    finally:
        for page in pages:
            page.context.close()
    messages = [text for kind, text in shown if kind == "message"]
    return {"answers": sum(kind == "answer" for kind, _ in shown), "messages": len(messages), "message_texts": messages[:3],
            "exceptions": crashed, "file_kib_max": round(max(len(data) for _, data in files) / 1024, 1),
            "last_answer_s": round(max(seconds), 1)}


def bench_sessions(results: dict, sessions: int = SESSIONS, side: int = SIDE) -> None:
    """`sessions` browser sessions upload distinct large PNGs at once; the server's peak memory against 2.5 GB."""
    sys.path[:0] = [str(ROOT / "tests" / "browser"), str(ROOT / "tests")]  # The browser tests' server and Chromium.
    from app_server import serving
    from conftest import CHROMIUM_ARGS, find_chromium
    from playwright.sync_api import sync_playwright

    folder = Path(tempfile.mkdtemp())
    model_path = full_size_model(folder)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(find_chromium()), headless=True, args=CHROMIUM_ARGS)
        with serving(model_path, folder / "no-data", folder / "streamlit.log", warm_up_with=browser) as app:
            loaded = memory_mib(app.pid)
            reset_peak(app.pid)
            watch = PeakWatch(app.pid)
            watch.start()
            shown = drive(browser, app.url, sessions, side)
            watch.stopped.set()
            after = memory_mib(app.pid)
        browser.close()
    results["sessions"] = {
        "sessions": f"{sessions} browser sessions at once, each a distinct PNG of at most {shown.pop('file_kib_max')} KiB "
                    f"decoding to {side} x {side} px",
        "after_loading_the_model_mib": loaded["VmRSS"], "peak_while_loading_mib": loaded["VmHWM"],
        "peak_during_sessions_mib": after["VmHWM"], "sampled_peak_mib": watch.peak_mib,
        "sampled_peak_at_s": round(watch.peak_at_s, 1), "resident_at_the_end_mib": after["VmRSS"],
        "bound": f"<= {BOUND_MIB:.0f} MiB ({verdict(max(after['VmHWM'], loaded['VmHWM']), BOUND_MIB)})",
        **shown,
    }
