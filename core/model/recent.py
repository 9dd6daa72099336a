"""The last few model inputs' float32 P(all), by content: so the faithfulness curves need no pass of their own."""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

import numpy as np


class RecentAnswers:
    """A small thread-safe LRU from a (S, S, 3) uint8 RGB model input's content (SHA-1) to its P(all).

    The model's weights must not change in place while answers are kept (the app never does; the
    sanity check uses a copy).
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._answers: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(model_input_rgb: np.ndarray) -> str:
        return hashlib.sha1(np.ascontiguousarray(model_input_rgb)).hexdigest()

    def get(self, model_input_rgb: np.ndarray) -> float | None:
        """The P(all) kept for this input, or None."""
        key = self.key(model_input_rgb)
        with self._lock:
            if key not in self._answers:
                return None
            self._answers.move_to_end(key)
            return self._answers[key]

    def put(self, model_input_rgb: np.ndarray, probability_all: float) -> None:
        """Keep this input's P(all), dropping the oldest beyond `size`."""
        key = self.key(model_input_rgb)
        with self._lock:
            self._answers[key] = float(probability_all)
            self._answers.move_to_end(key)
            while len(self._answers) > self.size:
                self._answers.popitem(last=False)
