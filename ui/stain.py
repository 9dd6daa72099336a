"""The stain the pages move cells to: the model's training stain, when the sidebar's toggle asks for it.

The reference comes from the model's sidecar (`core.imaging.stain.model_reference`, written from its
training cells by `core.training.stain_fit`), never from a constant; a model that records none is
used without normalisation, and the pages say why (`stain_note`).
"""
from __future__ import annotations

from core.imaging.stain import ReinhardNormaliser, model_reference
from ui import state

NO_REFERENCE_NOTE = ("This model's card records no training stain, so cells are used as they are. "
                     "Rebuild its index with `python -m core.cli.index` to add it.")


def page_normaliser(metadata: dict) -> ReinhardNormaliser | None:
    """The normaliser towards the model's training stain when the toggle is on and the sidecar has one, else None."""
    if not state.stain_normalised():
        return None
    reference = model_reference(metadata)
    return None if reference is None else ReinhardNormaliser(reference)


def stain_note(metadata: dict) -> str | None:
    """The sentence a page shows when normalisation was asked for but the model records no stain, else None."""
    if state.stain_normalised() and model_reference(metadata) is None:
        return NO_REFERENCE_NOTE
    return None
