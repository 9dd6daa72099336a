"""Playwright helpers for driving this app's pages (imported by the browser tests)."""
from __future__ import annotations

RESULT_TIMEOUT_MS = 90_000  # The first answer of a fresh server includes loading the model.
# The heading each screen draws, by the title the sidebar gives it (ui.navigation.SCREENS).
HEADINGS = {"Classify": "Classify a cell", "Patient": "Patient view", "Explain": "Explain an answer",
            "Dataset explorer": "Dataset explorer", "Model card": "Model card", "Quiz": "Quiz: ALL or Healthy?",
            "About": "About"}


def open_app(page, url: str, path: str = "") -> None:
    """Load a page of the app and wait until its title is drawn."""
    page.goto(f"{url}/{path}")
    page.locator("h1").first.wait_for(timeout=RESULT_TIMEOUT_MS)


def upload(page, files: list[tuple[str, bytes, str]]) -> None:
    """Put (name, bytes, MIME type) files into the Classify page's uploader."""
    payload = [{"name": name, "mimeType": mime, "buffer": data} for name, data, mime in files]
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(payload)


def result_heading(page, file_name: str):
    """The heading of the result for `file_name`, which reads "<name>: ALL" or "<name>: Healthy".

    Matched as plain text: Playwright's selector parser chokes on some regexes ("/").
    """
    return page.locator("h3").filter(has_text=f"{file_name}: ")


def go_to(page, title: str) -> None:
    """Switch page through the sidebar navigation, keeping this browser session."""
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title, exact=True).click()


def wait_idle(page, timeout_ms: int = RESULT_TIMEOUT_MS) -> None:
    """Wait until Streamlit is not running the script (the status widget is gone)."""
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout_ms
    )


def wait_images_loaded(page, minimum: int = 1, timeout_ms: int = RESULT_TIMEOUT_MS) -> None:
    """Wait until at least `minimum` st.image pictures have been fetched and decoded."""
    page.wait_for_function(
        """(minimum) => {
            const images = [...document.querySelectorAll('[data-testid="stImage"] img')];
            return images.length >= minimum && images.every(image => image.complete && image.naturalWidth > 0);
        }""",
        arg=minimum,
        timeout=timeout_ms,
    )


def wait_frames(page, frames: int = 2) -> None:
    """Wait until the browser has drawn `frames` more frames: a resize's new layout is on screen after two."""
    page.evaluate("""(frames) => new Promise(resolve => {
        const next = (left) => left ? requestAnimationFrame(() => next(left - 1)) : resolve();
        next(frames);
    })""", frames)


def frame_notice(page):
    """The first caption of the main area: where the entrypoint puts the research-only notice."""
    return page.get_by_test_id("stMain").get_by_test_id("stCaptionContainer").first


def download(page, button: str, path, attempts: int = 3):
    """Click a download button and return the file's text.

    Streamlit forgets a deferred download (the report is written on click) when a later script run
    replaces the one that drew the button ("Deferred file ... not found" in the server log), so a click
    that lands just before such a rerun gets no file: wait until idle and click again.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout  # Here: this module loads without Playwright.

    for attempt in range(attempts):
        wait_idle(page)
        try:
            with page.expect_download(timeout=RESULT_TIMEOUT_MS) as download_info:
                page.get_by_role("button", name=button).click()
            download_info.value.save_as(path)
            return path.read_text()
        except PlaywrightTimeout:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")
