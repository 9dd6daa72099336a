"""Ten browser sessions classify at once against one server: no errors, no crossed results.

The server shares one model between sessions behind a lock; each session must still see
only its own image. Every page is opened first, then all uploads are sent before any
result is awaited, so the ten script runs overlap on the server.
"""
from __future__ import annotations

import time

from streamlit_page import (
    RESULT_TIMEOUT_MS,
    result_heading,
    upload,
    wait_idle,
)

SESSIONS = 10


def test_ten_sessions_classify_at_once(browser, server, synthetic_data_root):
    from playwright.sync_api import expect

    cells = sorted((synthetic_data_root / "training_data").rglob("*.bmp"))[:SESSIONS]
    assert len(cells) == SESSIONS, "the synthetic dataset should hold at least ten training images"
    names = [f"session_{number:02d}.bmp" for number in range(SESSIONS)]
    contexts = [browser.new_context(viewport={"width": 1200, "height": 900}) for _ in range(SESSIONS)]
    try:
        pages = [context.new_page() for context in contexts]
        for page in pages:  # Load all ten at once, then wait for each.
            page.set_default_timeout(RESULT_TIMEOUT_MS)
            page.goto(server, wait_until="commit")
        for page in pages:
            page.locator("h1").first.wait_for()
            page.locator('[data-testid="stFileUploaderDropzoneInput"]').wait_for(state="attached")
        started = time.perf_counter()
        for page, name, cell in zip(pages, names, cells):
            upload(page, [(name, cell.read_bytes(), "image/bmp")])
        for page, name in zip(pages, names):
            expect(result_heading(page, name)).to_be_visible(timeout=RESULT_TIMEOUT_MS)
        elapsed = time.perf_counter() - started
        print(f"\n{SESSIONS} concurrent sessions answered in {elapsed:.1f} s")  # measured in benchmarks, not asserted
        for page, name in zip(pages, names):
            wait_idle(page)
            expect(page.get_by_test_id("stException")).to_have_count(0)
            expect(page.get_by_test_id("stAlertContentError")).to_have_count(0)
            text = page.locator("section.stMain, [data-testid='stMain']").first.inner_text()
            others = [other for other in names if other != name and other in text]
            assert not others, f"{name}'s session shows other sessions' images: {others}"
    finally:
        for context in contexts:
            context.close()
