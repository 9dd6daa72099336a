"""The last few model inputs' float32 values, by content: so a page that asks again pays once.

The Explainer keeps each input's P(all) (the faithfulness curves need no pass of their own); the
Classifier keeps each input's (features, P(all)) run alone (`Classifier.exact_values`).
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any

import numpy as np


class RecentAnswers:
    """A small thread-safe LRU from a (S, S, 3) uint8 RGB model input's content (SHA-1) to a value.

    The model's weights must not change in place while values are kept (the app never does; the
    sanity check uses a copy).
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._answers: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(model_input_rgb: np.ndarray) -> str:
        return hashlib.sha1(np.ascontiguousarray(model_input_rgb)).hexdigest()

    def get(self, model_input_rgb: np.ndarray) -> Any:
        """The value kept for this input, or None."""
        key = self.key(model_input_rgb)
        with self._lock:
            if key not in self._answers:
                return None
            self._answers.move_to_end(key)
            return self._answers[key]

    def put(self, model_input_rgb: np.ndarray, value: Any) -> Any:
        """Keep this input's value (a P(all) as a float), dropping the oldest beyond `size`; returns it."""
        key = self.key(model_input_rgb)
        value = float(value) if isinstance(value, (int, float, np.floating)) else value
        with self._lock:
            self._answers[key] = value
            self._answers.move_to_end(key)
            while len(self._answers) > self.size:
                self._answers.popitem(last=False)
        return value
