"""The Classify page's smear fields: the field with its found cells outlined and numbered, and each cell's cut-out.

A field upload (`ui.field_cells.FieldOutcome`) is drawn with every whole white cell found outlined and
numbered; the user can leave out an object that is not a white cell (it is then not answered, nor in
the table, the CSV or a report); each kept cell is answered through the one path and shown as a
cut-out with its answer and a button that opens it in Explain. Every field says that the model only
judges lymphoid cells.
"""
from __future__ import annotations

import streamlit as st

from core.imaging.fields.lineage import LYMPHOID_ONLY_NOTE
from core.imaging.fields.outlines import outlined_field
from core.model.assessment import answer_text
from ui import cache, navigation, state
from ui.field_cells import FieldOutcome, answer_field
from ui.messages import plain
from ui.outcomes import UploadOutcome

CUT_OUT_COLUMNS = 6  # cut-outs per row
FIELD_WIDTH = 900  # on-screen pixels at most: a 2048 px field would otherwise fill a wide screen


def render_fields(processed: list, classifier) -> list[UploadOutcome]:
    """Draw each field's section; return the outcomes with each field replaced by its kept cells' (in order)."""
    outcomes: list[UploadOutcome] = []
    for item in processed:
        outcomes += render_field(item, classifier) if isinstance(item, FieldOutcome) else [item]
    return outcomes


def render_field(field: FieldOutcome, classifier) -> list[UploadOutcome]:
    """One field: heading, the lymphoid-only note, the outlined field, the cells to leave out, the kept cells' cut-outs."""
    count = len(field.cells)
    st.subheader(f"{plain(field.name)}: a smear field, {count} whole white cell{'s' if count != 1 else ''} found",
                 anchor=False)
    st.info(LYMPHOID_ONLY_NOTE, icon=":material/info:")
    picture = st.container()  # drawn after the picker, whose choice greys the cells left out
    left_out = st.multiselect("Leave out objects that are not white cells (they are not answered)",
                              [cell.number for cell in field.cells], format_func=lambda number: f"#{number}",
                              key=f"field_left_out_{field.digest[:16]}_{field.name}",  # the same photo may come under two names
                              placeholder="Found cells to leave out")
    outlines = [(cell.number, cell.outline) for cell in field.cells]
    picture.image(outlined_field(field.field_rgb, outlines, field.original_size, set(left_out)),
                  caption=field_caption(field, len(left_out)), width=min(FIELD_WIDTH, field.field_rgb.shape[1]))
    cells = answer_field(field, set(left_out), classifier, state.error_rate())
    render_cut_outs(cells, classifier)
    return cells


def field_caption(field: FieldOutcome, left_out: int) -> str:
    """What the picture shows: the outlines, how many cells the border cut and the user left out, the stain."""
    parts = ["Each whole white cell found is outlined in yellow and numbered; the numbers are those of the table below."]
    if field.cut_by_border:
        verb = "was" if field.cut_by_border == 1 else "were"
        parts.append(f"{field.cut_by_border} cell{'s' if field.cut_by_border != 1 else ''} cut by the image's edge "
                     f"{verb} left out.")
    if left_out:
        parts.append(f"{left_out} left out by you (grey).")
    if field.stain:
        parts.append("Each cell was moved to the model's training stain after it was cut out.")
    return " ".join(parts)


def render_cut_outs(cells: list[UploadOutcome], classifier) -> None:
    """Each kept cell cut out on black (as the model takes it), with its answer and an Explain button; its stain before, when moved."""
    for start in range(0, len(cells), CUT_OUT_COLUMNS):
        for column, cell in zip(st.columns(CUT_OUT_COLUMNS), cells[start:start + CUT_OUT_COLUMNS]):
            if cell.unnormalised_rgb is not None:
                column.image(cell.unnormalised_rgb, caption="its own stain", width="stretch")
            column.image(cell.image_rgb, caption="in the model's stain" if cell.stain else None, width="stretch")
            why = " ".join(cell.analysis.scope_reasons) or None  # a plainly non-lymphoid cell says why it is referred
            column.caption(plain(f"#{cell.number}: {answer_text(cell.assessment)}"), help=why and plain(why))
            if column.button(f"Explain #{cell.number}", key=f"field_explain_{cell.name}_{cell.digest}", icon=":material/visibility:"):
                remember_for_explain(cell, classifier)
                st.switch_page(navigation.by_title("Explain").script)


def remember_for_explain(outcome: UploadOutcome, classifier) -> None:
    """Carry an outcome to Explain (`ui.state.remember_image`); a field's cell with its analysis, lineage findings and all."""
    analysis = outcome.analysis if outcome.in_field else None
    state.remember_image(outcome.name, outcome.image_rgb, outcome.digest, outcome.sample_side, analysis,
                         cache.model_key(classifier))
