"""The service's passes over many sessions' requests at once, without Ray: what `@serve.batch` hands over, run.

Requests for `values` that arrive together (`core.serve.deployment` gathers them) share passes:
- `fast` ones run in one stream of batches in the classifier's `batch_precision` (bfloat16 where the
  CPU computes it natively): FAST values, which `core.model.answering.settle` rechecks in float32;
- float32 ones of several rows (Classify's 8 views) run in one stream of float32 batches: BATCHED
  values, as they are in a batch of one session's rows;
- a float32 request of one row runs alone: the caller reads it as EXACT (`core.model.analysis.analyze_views`).
So no value is reported more exact than it was computed, and answering's margins hold for each.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from core.model.inference import Classifier


@dataclass(frozen=True)
class ValuesRequest:
    """One `/values` request: (N, S, S, 3) uint8 RGB model inputs, and whether it asks for the fast batches."""

    model_inputs_rgb: np.ndarray
    fast: bool


@dataclass(frozen=True)
class Values:
    """What one request gets back: ((N, D) float32 features or None, (N,) float32 P(all)), the precision they ran in,
    and how many model inputs of all the requests gathered with it ran together."""

    features: np.ndarray | None
    probabilities: np.ndarray
    precision: str
    gathered: int = 0


def rows_of(requests: Sequence[ValuesRequest]) -> int:
    """Model inputs in these requests: `@serve.batch`'s size of a batch (its `batch_size_fn`)."""
    return sum(len(request.model_inputs_rgb) for request in requests)


def run_batch(classifier: Classifier, requests: Sequence[ValuesRequest]) -> list[Values]:
    """Each request's values, in order; the fast ones in one stream of batches, float32 ones of several rows in another."""
    replies: list[Values | None] = [None] * len(requests)
    gathered = rows_of(requests)
    fast = [position for position, request in enumerate(requests) if request.fast]
    pooled = [position for position, request in enumerate(requests) if not request.fast and len(request.model_inputs_rgb) > 1]
    for positions, is_fast in ((fast, True), (pooled, False)):
        if positions:
            for position, values in zip(positions, pooled_values(classifier, [requests[p].model_inputs_rgb for p in positions], is_fast)):
                replies[position] = values
    for position, request in enumerate(requests):
        if replies[position] is None:  # one float32 row: alone
            features, probabilities = classifier.values(request.model_inputs_rgb, batch_size=1)
            replies[position] = Values(features, probabilities, "float32")
    return [replace(values, gathered=gathered) for values in replies]


def pooled_values(classifier: Classifier, inputs: Sequence[np.ndarray], fast: bool) -> list[Values]:
    """Several requests' inputs as one stream of `many_batch_size` passes, the values cut back per request."""
    features, probabilities = classifier.values(np.concatenate(inputs), classifier.many_batch_size, fast=fast)
    precision = classifier.batch_precision if fast else "float32"  # read after the pass: it may fall back
    ends = np.cumsum([len(rows) for rows in inputs])
    starts = ends - [len(rows) for rows in inputs]
    return [Values(None if features is None else features[start:end], probabilities[start:end], precision)
            for start, end in zip(starts, ends)]


def warm_passes(classifier: Classifier) -> None:
    """Trace every pass the service runs (float32, fast, folded) now, so that no session's request pays for it."""
    blank = np.zeros((1, classifier.image_size, classifier.image_size, 3), np.uint8)
    classifier.values(blank, batch_size=1)
    classifier.values(blank, batch_size=1, fast=True)
    classifier.folded_values(blank, batch_size=1)
