"""A bound on the work of the whole process, whichever thread (or Streamlit session) asks: turns, in arrival order.

A decode briefly holds about 10 bytes a pixel (Pillow's image, its RGB copy at 4 bytes a pixel, the array at 3):
about 350 MB for a 36 MP image, the largest accepted, before it is downscaled. A Streamlit server's sessions run
their scripts in threads of one process, so 30 sessions each decoding such an image at once would need 10 GB.
`DECODE_GATE` lets decodes of at most `config.MAX_DECODING_PIXELS` in all run together and queues the others in
arrival order (so a large image is not starved by a stream of small ones); one image larger than the whole
budget runs alone. The app gives whole images their turns the same way (`ui.image_cache.image_turn`).

>>> gate = TurnGate(36_000_000)
>>> with gate.holding(4_000_000, timeout_s=60):
...     pass  # decode here
"""
from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

from core import config


class TurnTimeout(TimeoutError):
    """A caller's turn did not come within its timeout."""


class TurnGate:
    """At most `budget` units (pixels, images) held by `holding` blocks at once, granted first come, first served."""

    def __init__(self, budget: int) -> None:
        if budget <= 0:
            raise ValueError(f"budget must be positive, got {budget}; pass a count such as 36_000_000 pixels.")
        self.budget = budget
        self._in_flight = 0
        self._queue: deque[int] = deque()  # Tickets of the waiting callers, oldest first.
        self._tickets = itertools.count()
        self._changed = threading.Condition()

    @property
    def in_flight(self) -> int:
        """Units granted now, in all."""
        return self._in_flight

    @contextmanager
    def holding(self, units: int, timeout_s: float) -> Iterator[None]:
        """Hold `units` of the budget for the block, after every earlier caller has had its turn.

        Raises:
            TurnTimeout: the turn did not come within `timeout_s` seconds (nothing is held then).
        """
        units = min(units, self.budget)  # A larger request waits until it is alone, then runs.
        self._acquire(units, timeout_s)
        try:
            yield
        finally:
            with self._changed:
                self._in_flight -= units
                self._changed.notify_all()

    def _acquire(self, units: int, timeout_s: float) -> None:
        with self._changed:
            ticket = next(self._tickets)
            self._queue.append(ticket)
            granted = self._changed.wait_for(
                lambda: self._queue[0] == ticket and self._in_flight + units <= self.budget, timeout_s)
            self._queue.remove(ticket)
            self._changed.notify_all()  # The next in the queue may fit now.
            if not granted:
                raise TurnTimeout(f"no turn for {units} units within {timeout_s} s")
            self._in_flight += units


# The one gate of this process: every call of `core.imaging.decode.load_image` decodes through it.
DECODE_GATE = TurnGate(config.MAX_DECODING_PIXELS)
