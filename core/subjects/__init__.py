"""One answer per subject (an ALL patient or a healthy donor) from many of their cells.

`rules` (the aggregation rules and the interval over a subject's cells), `cohort` (tables over many
subjects: the rules compared, the cells-needed curve), `evaluation` (the sidecar's subject-level
evaluation), `cells` (a subject's uploaded files taken to assessed cells through the one answering
path), `summary` (the facts and sentences the Patient page, its CSV and report show). The HTML report,
charts and model-card section over them live in `core.reporting`; the page in `app_pages/patient.py`.
"""
