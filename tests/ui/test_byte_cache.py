"""The app's per-image caches are bounded by bytes, and large uploads are downscaled before they are kept."""
import numpy as np
import pytest

from core import config
from ui.byte_cache import ByteBudgetCache, array_bytes
from imaging_inputs import blank_bilevel_png

MB = 1024 * 1024


def test_the_budget_holds_after_many_entries_and_the_newest_stay():
    cache = ByteBudgetCache(10 * MB)
    for number in range(100):
        cache.get_or_compute(number, lambda: np.zeros((1024, 1024), np.uint8))  # 1 MB each.
        assert cache.total_bytes <= 10 * MB
    assert len(cache) == 10
    assert cache.get_or_compute(99, lambda: pytest.fail("the newest entry was dropped")) is not None


def test_a_hit_is_the_same_object_and_refreshes_its_place():
    cache = ByteBudgetCache(3 * MB)
    first = cache.get_or_compute("a", lambda: np.ones(MB, np.uint8))
    cache.get_or_compute("b", lambda: np.ones(MB, np.uint8))
    assert cache.get_or_compute("a", lambda: pytest.fail("recomputed")) is first
    cache.get_or_compute("c", lambda: np.ones(MB, np.uint8))
    cache.get_or_compute("d", lambda: np.ones(MB, np.uint8))  # Drops "b", the least recently used.
    assert cache.get_or_compute("a", lambda: None) is first
    assert cache.get_or_compute("b", lambda: "recomputed") == "recomputed"


def test_a_value_over_the_whole_budget_is_returned_but_not_kept():
    cache = ByteBudgetCache(MB)
    assert cache.get_or_compute("big", lambda: np.zeros(2 * MB, np.uint8)).nbytes == 2 * MB
    assert len(cache) == 0 and cache.total_bytes == 0


def test_arrays_inside_results_are_counted():
    from core.imaging.decode import DecodedImage

    decoded = DecodedImage(np.zeros((10, 10, 3), np.uint8), "PNG")
    assert array_bytes((decoded, [np.zeros(5, np.float32)], {"x": np.zeros(7, np.uint8)})) == 300 + len("PNG") + 20 + 7
    assert array_bytes(("<html>", b"12345")) == 11  # Reports are kept as text or bytes.


def test_the_apps_upload_cache_stays_within_its_budget(monkeypatch):
    from ui import image_cache

    monkeypatch.setattr(config, "DECODED_CACHE_BYTES", 30 * MB)
    image_cache.upload_caches.clear()
    try:
        for number in range(6):  # Each decodes to 3000 x 3000 - number, then is downscaled to 2048 px a side.
            decoded = image_cache.decode_upload(blank_bilevel_png(3000 - number, 3000), f"large-{number}.png")
            assert max(decoded.image_rgb.shape) == config.MAX_DECODED_SIDE and "downscaled" in decoded.warnings[-1]
        decoded_cache = image_cache.upload_caches()["decoded"]
        assert decoded_cache.total_bytes <= 30 * MB and len(decoded_cache) == 2  # 12.6 MB each.
    finally:
        image_cache.upload_caches.clear()
