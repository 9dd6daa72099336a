"""The pages' stain normalisation: the model's training stain from its sidecar, only when the toggle asks."""
from __future__ import annotations

import pytest
import streamlit as st

from core.imaging.stain import SIDECAR_KEY, StainStats
from ui import state
from ui.stain import NO_REFERENCE_NOTE, page_normaliser, stain_note

REFERENCE = StainStats((150.0, 150.0, 110.0), (40.0, 8.0, 10.0))


@pytest.fixture
def toggle(monkeypatch):
    session: dict = {}
    monkeypatch.setattr(st, "session_state", session)
    return lambda on: session.__setitem__(state.STAIN_KEY, on)


def test_off_means_no_normaliser_whatever_the_model_records(toggle):
    toggle(False)
    assert page_normaliser({SIDECAR_KEY: REFERENCE.as_dict()}) is None and stain_note({}) is None


def test_on_moves_cells_to_the_sidecars_stain(toggle):
    toggle(True)
    normaliser = page_normaliser({SIDECAR_KEY: REFERENCE.as_dict()})
    assert normaliser is not None and normaliser.reference == REFERENCE
    assert stain_note({SIDECAR_KEY: REFERENCE.as_dict()}) is None


def test_on_without_a_recorded_stain_says_why_nothing_moved(toggle):
    toggle(True)
    assert page_normaliser({}) is None and stain_note({}) == NO_REFERENCE_NOTE
