"""Untrusted input in a real Chromium: a model file's text shown as text and nothing fetched."""
from __future__ import annotations

from model_files import MARKUP_CLASS_NAME, markup_class_model
from streamlit_page import RESULT_TIMEOUT_MS, go_to, open_app, wait_idle

from ui.messages import WORD_JOINER

HOSTILE_HOST = "127.0.0.2"


def test_a_markup_class_name_is_text_and_fetches_nothing(page, start_app, tiny_model_path, tmp_path):
    """The app on a model whose LEUKEMIA_MODEL has a layer class named like a Markdown link and image."""
    url = start_app(markup_class_model(tiny_model_path, tmp_path / "model")).url
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    open_app(page, url)
    summary = "uses a layer this app does not allow: " + MARKUP_CLASS_NAME
    for title in ("Classify", "Model card"):
        if title != "Classify":
            go_to(page, title)
        page.get_by_text("does not allow", exact=False).first.wait_for(timeout=RESULT_TIMEOUT_MS)
        wait_idle(page)
        shown = page.locator("body").inner_text().replace(WORD_JOINER, "")
        assert summary in shown, title
        assert page.locator(f"a[href*='{HOSTILE_HOST}'], img[src*='{HOSTILE_HOST}']").count() == 0, title
    assert not [address for address in requests if HOSTILE_HOST in address]
