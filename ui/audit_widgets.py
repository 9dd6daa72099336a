"""The model card's explanation audit: each method's faithfulness over held-out cells, beside its sanity check."""
from __future__ import annotations

import streamlit as st

from core.explain.methods import LAYERS, METHOD_NAMES
from core.model.sidecar_schema import AUDIT_KEY

COLUMNS = {"deletion_area": "Deletion area (lower is better)", "insertion_area": "Insertion area (higher is better)",
           "score": "Faithfulness (insertion - deletion)", "heat_inside": "Heat on the cell",
           "sanity_correlation": "Sanity check: correlation with a randomised model (lower is better)"}


def audit_table(audit: dict) -> list[dict[str, str]]:
    """The audit's rows as the table shows them: names people read, numbers to two decimals, gaps as 'n/a'."""
    def number(value) -> str:
        return "n/a" if value is None else f"{value:.2f}"

    return [{"Method": METHOD_NAMES.get(row["method"], row["method"]), "Layer": LAYERS.get(row["layer"], row["layer"]),
             **{title: number(row.get(key)) for key, title in COLUMNS.items()}} for row in audit.get("rows", [])]


def explanation_audit_ui(metadata: dict) -> None:
    """The audit table from the sidecar, or how to compute it for a model trained before it existed."""
    audit = metadata.get(AUDIT_KEY)
    if not audit or not audit.get("rows"):
        st.info("This model's explanations have not been audited yet. Run `python -m core.cli.audit --model "
                "MODEL --data DATA_FOLDER` to measure each method's faithfulness on held-out cells.",
                icon=":material/fact_check:")
        return
    st.caption(f"Averaged over {audit['cells']} held-out cells, each explained for its predicted class. Removing a "
               "faithful map's hottest pixels drops the probability fast (small deletion area); revealing them alone "
               "restores it fast (large insertion area). A map that barely changes when the top layers are "
               "randomised (correlation near 1) reflects the image more than what the model learned.")
    st.dataframe(audit_table(audit), hide_index=True, width="stretch")
