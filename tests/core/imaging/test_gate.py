"""Decodes of the whole process share one pixel budget (core.imaging.gate), in arrival order, with a clear refusal on timeout."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from benchmarks.common import large_png
from core import config
from core.errors import ImageLoadError
from core.imaging import decode, gate
from core.imaging.gate import TurnGate, TurnTimeout


def test_the_pixels_held_at_once_never_pass_the_budget():
    pixel_gate, most, lock = TurnGate(10), [0], threading.Lock()

    def hold() -> None:
        with pixel_gate.holding(4, timeout_s=30):
            with lock:
                most[0] = max(most[0], pixel_gate.in_flight)
            time.sleep(0.02)

    threads = [threading.Thread(target=hold) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most[0] == 8 and pixel_gate.in_flight == 0  # Two of 4 at a time, never three.


def queued(pixel_gate: TurnGate, waiting: int, timeout_s: float = 5) -> None:
    """Block until `waiting` callers wait in the gate's queue; fail when they do not within `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while len(pixel_gate._queue) < waiting:
        assert time.monotonic() < deadline, f"{waiting} callers should be waiting, {len(pixel_gate._queue)} are"
        time.sleep(0.001)


def test_turns_come_in_arrival_order_so_a_large_image_is_not_starved():
    pixel_gate, order = TurnGate(10), []

    def take(name: str, pixels: int) -> None:
        with pixel_gate.holding(pixels, timeout_s=5):
            order.append(name)

    threads = [threading.Thread(target=take, args=("large", 10)), threading.Thread(target=take, args=("small", 1))]
    with pixel_gate.holding(6, timeout_s=1):
        threads[0].start()
        queued(pixel_gate, 1)
        threads[1].start()  # 6 + 1 fits the budget, but the large image came first.
        queued(pixel_gate, 2)
        assert order == []
    for thread in threads:
        thread.join()
    assert order == ["large", "small"] and pixel_gate.in_flight == 0


def test_a_turn_that_does_not_come_raises_and_holds_nothing():
    pixel_gate = TurnGate(10)
    with pixel_gate.holding(10, timeout_s=1):
        with pytest.raises(TurnTimeout):
            with pixel_gate.holding(1, timeout_s=0.05):
                pass
        assert pixel_gate.in_flight == 10 and not pixel_gate._queue
    with pixel_gate.holding(25, timeout_s=1):  # Larger than the budget: it runs alone.
        assert pixel_gate.in_flight == 10


def test_every_decode_goes_through_the_process_gate(monkeypatch):
    """A decode waits for its turn: with the budget held elsewhere, it is refused with a sentence saying why."""
    held = TurnGate(config.MAX_DECODING_PIXELS)
    monkeypatch.setattr(gate, "DECODE_GATE", held)
    monkeypatch.setattr(config, "DECODE_WAIT_S", 0.1)
    with held.holding(config.MAX_DECODING_PIXELS, timeout_s=1):
        with pytest.raises(ImageLoadError, match="busy decoding other large images.*'big.png' waited"):
            decode.load_image(large_png(0, 1000), name="big.png")
    assert decode.load_image(large_png(0, 1000), name="big.png").image_rgb.shape == (1000, 1000, 3)


class WatchedGate(TurnGate):
    """A gate that notes the most pixels it ever held, each holder staying a little so that others could overlap."""

    most = 0

    @contextmanager
    def holding(self, pixels: int, timeout_s: float) -> Iterator[None]:
        with super().holding(pixels, timeout_s):
            self.most = max(self.most, self.in_flight)
            time.sleep(0.02)
            yield


def test_concurrent_decodes_hold_at_most_the_budget(monkeypatch):
    """Four threads decoding distinct 3000 x 3000 images under a 9 MP budget decode one at a time."""
    watched = WatchedGate(9_000_000)
    monkeypatch.setattr(gate, "DECODE_GATE", watched)
    threads = [threading.Thread(target=decode.load_image, args=(large_png(number, 3000),)) for number in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert watched.most == 9_000_000 and watched.in_flight == 0
