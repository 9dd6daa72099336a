"""Take the README's screenshots of every page against a running app (not a test).

    LEUKEMIA_MODEL=models/leukemia_resnet50.keras python3 -m streamlit run streamlit_app.py --server.port 8599 &
    python3 tests/browser/take_screenshots.py http://127.0.0.1:8599 docs/screenshots IMAGE.bmp

Uses Debian's Chromium (/usr/bin/chromium), like the browser tests.
"""
from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]  # browser helpers, tests/ helpers
from conftest import CHROMIUM_ARGS, find_chromium  # noqa: E402
from streamlit_page import go_to, open_app, result_heading, upload, wait_idle, wait_images_loaded  # noqa: E402

SETTLE_MS = 2500  # Plotly and data grids draw after the script finishes.


def shoot(page, out: Path, name: str) -> None:
    wait_idle(page)
    page.wait_for_timeout(SETTLE_MS)
    page.screenshot(path=str(out / f"{name}.png"), full_page=False)


def patient_screenshot(page, out: Path) -> None:
    """The Patient page answering the first held-out subject it offers."""
    go_to(page, "Patient")
    page.locator("h1").first.wait_for()
    wait_idle(page)
    page.get_by_test_id("stRadio").get_by_text("A held-out subject of the dataset").click()
    box = page.get_by_test_id("stSelectbox").filter(has_text="Held-out subject")
    box.get_by_role("button", name="Open").click()  # the selectbox's own opener, not its label
    page.get_by_role("option").first.click()
    page.get_by_text("Label in the dataset").wait_for(timeout=180_000)
    shoot(page, out, "patient")


def main(url: str, out_dir: str, image_path: str) -> int:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(find_chromium()), headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        open_app(page, url)
        upload(page, [(Path(image_path).name, Path(image_path).read_bytes(), "image/bmp")])
        result_heading(page, Path(image_path).name).wait_for()
        wait_images_loaded(page, 4)
        page.mouse.wheel(0, 380)
        shoot(page, out, "classify")
        for title, name in (("Explain", "explain"), ("Dataset explorer", "dataset"), ("Model card", "model"), ("About", "about")):
            go_to(page, title)
            page.locator("h1").first.wait_for()
            if name == "explain":
                wait_images_loaded(page, 2)
            shoot(page, out, name)
            if name == "model":  # The metrics, curves and threshold slider sit below the facts.
                page.mouse.move(700, 600)
                page.mouse.wheel(0, 1900)
                shoot(page, out, "model_metrics")
        patient_screenshot(page, out)
        go_to(page, "Quiz")
        page.locator("h1").first.wait_for()
        wait_images_loaded(page, 1)
        shoot(page, out, "quiz")
        browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:4]))
