"""White cells in smear fields and analyser crops, found by classical image analysis and cut out on black.

`cells` is the entry (a field or an analyser crop -> its whole white cells, each on black as C-NMC
ships them); `finder` finds each cell with `ruler` (the field's red-cell diameter, the ruler every
size is stated in), `quality`, `nuclei` and `cytoplasm`; `crops` cuts them out; `lineage` flags cells
that are plainly not lymphoid. The README's "Smear fields and analyser crops" gives every parameter.
"""
