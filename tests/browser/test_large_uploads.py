"""Three browser sessions at once each upload a small PNG that decodes to 6000 x 6000 px (36 MP, the largest accepted).

The server decodes them in turns (`core.imaging.gate`, `ui.image_cache.image_turn`) and keeps what the sessions carry
between pages in one store for all of them (`ui.server_memory`): each session still gets its own answer, or a
clear message naming its file, and finds its own image on the Explain page. All uploads are sent before any
answer is awaited, so the three script runs overlap on the server.
"""
from __future__ import annotations

from streamlit_page import RESULT_TIMEOUT_MS, go_to, result_heading, upload, wait_idle

from benchmarks.common import large_png

SESSIONS = 3
SIDE = 6000


def answer_or_message(page, name: str):
    """The result heading of `name`, or an alert that names it: what a session must end with."""
    return result_heading(page, name).or_(page.get_by_test_id("stAlert").filter(has_text=name)).first


def test_sessions_uploading_very_large_images_at_once_each_get_their_answer(browser, server):
    from playwright.sync_api import expect

    names = [f"large-{number}.png" for number in range(SESSIONS)]
    contexts = [browser.new_context(viewport={"width": 1200, "height": 900}) for _ in range(SESSIONS)]
    try:
        pages = [context.new_page() for context in contexts]
        for page in pages:
            page.set_default_timeout(RESULT_TIMEOUT_MS)
            page.goto(server, wait_until="commit")
        for page in pages:
            page.locator('[data-testid="stFileUploaderDropzoneInput"]').wait_for(state="attached")
        for number, page in enumerate(pages):
            upload(page, [(names[number], large_png(number, SIDE), "image/png")])
        for page, name in zip(pages, names):
            expect(answer_or_message(page, name)).to_be_visible(timeout=4 * RESULT_TIMEOUT_MS)
        for page, name in zip(pages, names):
            wait_idle(page)
            expect(page.get_by_test_id("stException")).to_have_count(0)
            expect(result_heading(page, name)).to_be_visible()  # At the default bounds all three are answered.
            expect(page.get_by_text("downscaled to 2048 x 2048").first).to_be_visible()
        for page, name in zip(pages, names):
            go_to(page, "Explain")
            heading = page.locator("h3").filter(has_text=name)
            expect(heading).to_be_visible(timeout=RESULT_TIMEOUT_MS)  # Its own last image, from the server's store.
            others = [other for other in names if other != name]
            assert not any(other in page.get_by_test_id("stMain").inner_text() for other in others)
    finally:
        for context in contexts:
            context.close()
