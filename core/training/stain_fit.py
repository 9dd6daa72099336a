"""The model's reference stain: the pooled L*a*b* statistics of its training cells, for the sidecar.

Stain normalisation (`core.imaging.stain`, Reinhard) moves another lab's cell towards the stain the
model learned. That stain is measured here on the model's own training-role cells (segmented cells on
black, as C-NMC ships them, before any preprocessing: the same form a field's cut-out cell has when it
is normalised), never taken from a constant, and stored in the sidecar's `stain_reference` entry by
`core.training.neighbours.attach_index` (after training, and by `python -m core.cli.index` for older
models). At most `MAX_CELLS` cells, spread evenly over the training records, are read: the pooled
statistics of 400 cells move by well under one 8-bit L*a*b* unit against all of them.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from core.data.index import ImageRecord
from core.errors import LeukemiaAppError
from core.imaging.decode import load_image
from core.imaging.stain import stain_stats

MAX_CELLS = 400


def spread(records: Sequence[ImageRecord], limit: int = MAX_CELLS) -> list[ImageRecord]:
    """At most `limit` records, evenly spaced through `records` (all of them when there are fewer)."""
    if len(records) <= limit:
        return list(records)
    return [records[int(position)] for position in np.linspace(0, len(records) - 1, limit).round()]


def fit_stain_reference(train: Sequence[ImageRecord], limit: int = MAX_CELLS) -> dict[str, Any]:
    """The sidecar's `stain_reference` entry: `StainStats.as_dict` of the training cells, with how many were read.

    Unreadable files are left out (they are counted in "cells_unreadable").

    Raises:
        ValueError: no training cell could be read, or every one is black.
    """
    chosen = spread(train, limit)
    images, unreadable = [], 0
    for record in chosen:
        try:
            images.append(load_image(record.path).image_rgb)
        except LeukemiaAppError:
            unreadable += 1
    if not images:
        raise ValueError("no training cell could be read to measure the model's stain")
    try:
        reference = stain_stats(images)
    except LeukemiaAppError as error:
        raise ValueError(str(error)) from error
    return {**reference.as_dict(), "cells": len(images), "cells_unreadable": unreadable, "from": "training subjects"}
