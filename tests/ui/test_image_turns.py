"""New images of every session take turns (ui.image_cache.image_turn): a few at a time, a clear refusal when none comes."""
from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest

from benchmarks.common import large_png
from core import config
from core.errors import ImageLoadError
from core.model import analysis
from ui import cache, image_cache


@pytest.fixture
def fresh_caches(monkeypatch):
    """Empty upload caches and image turns, made again from the config the test sets."""
    for made in (image_cache.upload_caches, image_cache._image_turns):
        made.clear()
    yield
    for made in (image_cache.upload_caches, image_cache._image_turns):
        made.clear()


def stand_in_classifier() -> SimpleNamespace:
    """Enough of a Classifier for `cache.model_key`; `analyze_cell` is replaced in these tests."""
    return SimpleNamespace(loaded=SimpleNamespace(path="stand-in.keras", sha256="0" * 64, sidecar_sha256=""))


def test_many_sessions_new_images_are_worked_on_a_few_at_a_time(monkeypatch, fresh_caches):
    active, most, lock = [0], [0], threading.Lock()

    def slow_analysis(classifier, image_rgb):
        with lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
        time.sleep(0.05)  # Long enough for the other sessions to try to overlap.
        with lock:
            active[0] -= 1
        return "analysed"

    monkeypatch.setattr(analysis, "analyze_cell", slow_analysis)
    classifier = stand_in_classifier()
    pngs = [large_png(number, 300) for number in range(6)]
    sessions = [threading.Thread(target=image_cache.decode_and_analyze, args=(png, cache.content_digest(png), f"{number}.png", classifier))
                for number, png in enumerate(pngs)]
    for session in sessions:
        session.start()
    for session in sessions:
        session.join()
    assert most[0] == config.IMAGES_AT_ONCE == 2
    assert image_cache.decode_and_analyze(pngs[0], cache.content_digest(pngs[0]), "0.png", classifier)[2] == "analysed"  # Cached.


def test_no_turn_in_time_is_a_sentence_naming_the_file(monkeypatch, fresh_caches):
    monkeypatch.setattr(config, "DECODE_WAIT_S", 0.05)
    with image_cache._image_turns().holding(config.IMAGES_AT_ONCE, timeout_s=1):  # Other sessions hold every turn.
        with pytest.raises(ImageLoadError, match=r"busy with other sessions' images, and 'late.png' waited"):
            png = large_png(1, 300)
            image_cache.decode_and_analyze(png, cache.content_digest(png), "late.png", stand_in_classifier())


def test_a_turn_inside_a_turn_is_the_same_turn(monkeypatch, fresh_caches):
    monkeypatch.setattr(config, "IMAGES_AT_ONCE", 1)
    monkeypatch.setattr(config, "DECODE_WAIT_S", 0.05)
    with image_cache.image_turn("the page's images"):
        with image_cache.image_turn("one of them"):  # The page holds the only turn; its own images do not wait for it.
            assert image_cache._image_turns().in_flight == 1
    assert image_cache._image_turns().in_flight == 0


def test_a_page_run_keeps_its_first_turn_until_it_ends(fresh_caches):
    """Answers, then the report, in one turn: taken in two, every report queued behind every session's answers."""
    with image_cache.turns_for_this_run():
        assert image_cache._image_turns().in_flight == 0  # Nothing new yet: no turn taken, none waited for.
        with image_cache.image_turn("its answers"):
            pass
        assert image_cache._image_turns().in_flight == 1  # Kept for the report.
        with image_cache.image_turn("its report"):
            assert image_cache._image_turns().in_flight == 1
    assert image_cache._image_turns().in_flight == 0
