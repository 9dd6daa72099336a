"""The Patient page's way to Explain: one of the person's cells handed over as Classify hands its cells.

A plain file goes as decoded; a smear field's cell goes as its cut-out on black, in the stain it was
answered in, with its own analysis (its lineage finding kept) and its own key, as Classify's field cells do.
"""
from __future__ import annotations

import streamlit as st

from core.imaging.stain import ReinhardNormaliser, model_reference
from core.model.answering import measure
from core.subjects.summary import SubjectCell
from ui import cache, image_cache, navigation, state
from ui.patient_widgets import PatientInput, PatientView
from ui.field_cells import cell_digest


def explain_cell(cell: SubjectCell, view: PatientView, patient: PatientInput | None) -> None:
    """Hand one cell to the Explain page (as Classify's "Explain this answer" does) and go there."""
    files = zip(patient.digests, patient.files) if patient else []
    data = next((data for digest, (_, data) in files if digest == cell.digest), None)
    if data is None and cell.digest in view.paths:
        data = view.paths[cell.digest].read_bytes()
    if data is None:
        st.info("Upload this person's cells again to explain one of them.", icon=":material/upload:")
        return
    image_rgb = image_cache.decode_upload(data, cell.name).image_rgb
    if cell.place is None:
        state.remember_image(cell.name, image_rgb, cell.digest, view.side)
    else:  # A field's cell: its cut-out on black, in the stain it was answered in, with its analysis (lineage findings kept).
        classifier = cache.get_classifier()
        found = field_cell(image_rgb, cell, classifier.loaded.metadata, classifier.image_size)
        analysis = measure(classifier, [found.cell])[0]
        digest = cell_digest(cell.digest, cell.place.number, cell.stain)
        state.remember_image(cell.name, found.cell_rgb, digest, view.side, analysis, cache.model_key(classifier))
    st.switch_page(navigation.by_title("Explain").script)


def field_cell(field_rgb, cell: SubjectCell, metadata: dict, image_size: int):
    """The `core.imaging.image_cells.ImageCell` of a field's cell (its number k), in the stain it was answered in.

    Args:
        field_rgb: (H, W, 3) uint8 RGB, the field as decoded.
        cell: a field's cell (`cell.place` set).
        metadata: the model's sidecar (its training stain, for a cell answered in it).
        image_size: the model's input side in pixels.
    """
    from core.imaging.decode import DecodedImage
    from core.imaging.image_cells import cells_of_image

    reference = model_reference(metadata) if cell.stain else None
    found, _ = cells_of_image(DecodedImage(field_rgb, "PNG"), image_size,
                              None if reference is None else ReinhardNormaliser(reference))
    return next(found_cell for found_cell in found if found_cell.number == cell.place.number)
