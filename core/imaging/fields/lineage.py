"""Is a white cell found in a field plainly not lymphoid? The model only judges lymphoid cells.

C-NMC 2019 holds B-lineage lymphoid cells only (leukemic blasts and normal B cells). A smear field
also holds neutrophils, eosinophils and monocytes, which the model has never seen: its answer on
them means nothing. Their nuclei give them away: lobed (neutrophils, eosinophils) or kidney-shaped
(monocytes), and with more cytoplasm around them than a lymphocyte's thin rim.

Measures (`core.imaging.fields.finder.FoundCell`): the nucleus-to-cell area ratio, the nucleus' solidity
(its area over its convex hull's) and its separate lobes. On the 159 whole white cells found in the
200 BCCD fields (every kind, mostly neutrophils): ratio 5th/25th/50th/75th/95th percentiles 0.41 /
0.48 / 0.58 / 0.68 / 0.76; solidity 0.76 / 0.84 / 0.91 / 0.97 / 1.00; 2 or more lobes in 12 of them.
Looked at by eye, the cells with a round nucleus filling 0.75 or more of the cell are lymphocytes,
and the lobed, granular and kidney-shaped ones fall under 0.6 or under solidity 0.8. Only the plain
cases are flagged (92 of the 159, 58%; BCCD's cells are mostly neutrophils): a cell passing these
checks is not thereby shown to be lymphoid.
"""
from __future__ import annotations

from core.imaging.fields.finder import FoundCell

MIN_LYMPHOID_NUCLEUS_FRACTION = 0.6  # A lymphocyte's nucleus fills most of the cell (thin cytoplasm rim).
MIN_LYMPHOID_SOLIDITY = 0.8  # A lymphoid nucleus is round or oval; lobed and kidney shapes fall below.
LYMPHOID_ONLY_NOTE = ("The model only judges lymphoid cells (C-NMC holds B-lineage lymphoid cells only): "
                      "its answer on a neutrophil, eosinophil or monocyte means nothing.")


def non_lymphoid_reasons(cell: FoundCell) -> tuple[str, ...]:
    """Sentences saying why `cell` is plainly not a lymphoid cell; empty when nothing plainly says so."""
    signs = []
    if cell.nucleus_lobes >= 2:
        signs.append(f"its nucleus has {cell.nucleus_lobes} separate lobes")
    elif cell.nucleus_solidity < MIN_LYMPHOID_SOLIDITY:
        signs.append(f"its nucleus is lobed or kidney-shaped (solidity {cell.nucleus_solidity:.2f}, "
                     f"a lymphoid nucleus is round: {MIN_LYMPHOID_SOLIDITY} or more)")
    if cell.nucleus_fraction < MIN_LYMPHOID_NUCLEUS_FRACTION:
        signs.append(f"its nucleus fills only {cell.nucleus_fraction:.0%} of the cell "
                     f"(a lymphocyte's {MIN_LYMPHOID_NUCLEUS_FRACTION:.0%} or more)")
    if not signs:
        return ()
    return (f"This cell looks like a neutrophil, eosinophil or monocyte, not a lymphoid cell: {'; '.join(signs)}. "
            + LYMPHOID_ONLY_NOTE,)
