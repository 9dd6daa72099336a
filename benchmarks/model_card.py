"""The Model card's threshold slider, timed in a real browser: one move to the numbers it gives.

A server runs the app on a small model whose card holds an evaluation of 2,000 images from
100 subjects (curves of the stored size); headless Chromium opens the card and presses the
slider's arrow key. The page itself times each move: from the keydown event to the caption naming
the new threshold (a MutationObserver), and to the next frame after it (requestAnimationFrame),
which is when a person can see it. Timing from Python with Playwright's `wait_for` would measure
its polling instead: it looks again after 0, 20, 50, 100, 100 and 500 ms, so every move read
170 or 270 ms whatever the app did. Needs Chromium and the playwright package, as the browser tests do.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import ROOT, milliseconds, verdict

SLIDER_MOVE_GOAL_SECONDS = 0.2
MOVES = 30


def card_model(folder: Path) -> Path:
    """A 64-px model whose sidecar holds a realistic evaluation (what the slider's section reads)."""
    from core.model.network import build_classifier
    from core.model.store import base_metadata, save_model
    from core.reporting.evaluation import evaluate

    rng = np.random.default_rng(0)
    subjects = np.repeat([f"S{number}" for number in range(100)], 20)
    labels = np.repeat(rng.integers(0, 2, 100), 20)
    probabilities = np.clip(0.35 * labels + 0.3 + rng.normal(0, 0.2, labels.size), 0, 1)
    evaluation = {"validation": evaluate(labels, probabilities, subjects, 0.5)}
    path = folder / "card.keras"
    save_model(build_classifier(64, weights=None), path, {**base_metadata(64), "evaluation": evaluation})
    return path


# Installed in the page before each move; resolves with [ms to the text, ms to the next frame] after the keydown.
WATCH_MOVE = """(target) => {
  window.__sliderMoved = new Promise(resolve => {
    let start = null;
    document.addEventListener('keydown', () => { start = performance.now(); }, {capture: true, once: true});
    const shown = () => [...document.querySelectorAll('[data-testid="stCaptionContainer"]')]
      .some(element => element.innerText.includes(target));
    const observer = new MutationObserver(() => {
      if (start === null || !shown()) return;
      observer.disconnect();
      const inPage = performance.now() - start;
      requestAnimationFrame(() => setTimeout(() => resolve([inPage, performance.now() - start]), 0));
    });
    observer.observe(document.body, {subtree: true, childList: true, characterData: true});
  });
}"""


def time_moves(url: str, moves: int) -> list[tuple[float, float]]:
    """(seconds to the caption naming the new threshold, seconds to the frame that shows it) per ArrowRight."""
    from conftest import CHROMIUM_ARGS, find_chromium
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(find_chromium()), headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/model")
        thumb = page.get_by_test_id("stSlider").get_by_role("slider")
        caption = page.get_by_text("At threshold", exact=False).first
        caption.wait_for(timeout=120_000)
        threshold = float(caption.inner_text().split("At threshold ")[1][:5])
        times = []
        for _ in range(moves + 2):  # The first two moves warm the fragment up; they are not counted.
            threshold += 0.001
            page.evaluate(WATCH_MOVE, f"At threshold {threshold:.3f}")
            thumb.press("ArrowRight")
            in_page_ms, painted_ms = page.evaluate("window.__sliderMoved")
            times.append((in_page_ms / 1000, painted_ms / 1000))
            time.sleep(0.2)  # A person reads the numbers before the next move.
        browser.close()
    return times[2:]


def bench_slider(results: dict) -> None:
    """Median and worst seconds per slider move, against SLIDER_MOVE_GOAL_SECONDS."""
    sys.path[:0] = [str(ROOT / "tests" / "browser"), str(ROOT / "tests")]  # The browser tests' server and Chromium.
    from app_server import serving

    folder = Path(tempfile.mkdtemp())
    with serving(card_model(folder), folder / "no-data", folder / "streamlit.log") as app:
        times = time_moves(app.url, MOVES)
    in_page = [text for text, _ in times]
    painted = [frame for _, frame in times]
    median = float(np.median(painted))
    results["slider"] = {
        "move_to_numbers_shown_median_ms": milliseconds(median), "move_to_numbers_shown_max_ms": milliseconds(max(painted)),
        "move_to_text_in_page_median_ms": milliseconds(float(np.median(in_page))),
        "moves": len(times), "goal_ms": milliseconds(SLIDER_MOVE_GOAL_SECONDS), "verdict": verdict(median, SLIDER_MOVE_GOAL_SECONDS),
    }
