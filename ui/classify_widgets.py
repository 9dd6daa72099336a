"""The Classify page's pieces: collect images, process each one safely, draw the answers.

`process_upload(name, data, classifier)` is the one path every cell image takes, uploaded or
picked from the dataset, and it never raises: a bad file becomes an `UploadOutcome` with
an `error` sentence, so one bad file never stops the others. `process_item` sends a smear
field (a light border) to `ui.field_cells` instead, which never raises either.
"""
from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import streamlit as st

from core.data import labels
from core.data.sides import Sample, offered_samples, real_cell_samples
from core.errors import LeukemiaAppError
from core.model.answering import answer_analysis
from core.model.assessment import answer_text, qualifications
from core.model.decision import prediction_set_text
from core.reporting.spreadsheet import safe_cell
from core.imaging.fields.lineage import LYMPHOID_ONLY_NOTE
from core.imaging.image_cells import REINHARD, box_text
from ui import cache, field_cells, image_cache, kept_uploads, state
from ui.field_cells import FieldOutcome
from ui.outcomes import UploadOutcome
from ui.messages import show_error, show_info
from ui.stain import page_normaliser

LOGGER = logging.getLogger(__name__)
UPLOAD_TYPES = ["bmp", "png", "jpg", "jpeg", "tif", "tiff"]
SAMPLES_PER_GROUP = 3  # Per class and side of training.
# One image to classify: (file name, bytes, label in the dataset or None, sample side or None).
Item = tuple[str, bytes, str | None, str | None]


def process_upload(name: str, data: bytes, classifier, dataset_label: str | None = None,
                   sample_side: str | None = None, normaliser=None) -> UploadOutcome:
    """Decode, classify, scope-check and assess one cell image; cached by content and model. Never raises.

    With `normaliser` (`ui.stain.page_normaliser`) the cell is moved to the model's training stain first.
    """
    digest = cache.content_digest(data)
    try:
        decoded, image_rgb, analysis = image_cache.decode_and_analyze(data, digest, name, classifier, normaliser)
        analysis, assessment = answer_analysis(classifier, analysis, state.error_rate(), sample_side)
    except LeukemiaAppError as error:  # an unreadable file, or an inference service that stopped answering
        message = str(error) if name in str(error) else f"{name}: {error}"
        return UploadOutcome(name, digest, error=message, dataset_label=dataset_label)
    except Exception:  # Last resort: a readable line here, the traceback in the server log.
        LOGGER.exception("Unexpected failure while classifying %r", name)
        message = f"{name} could not be processed because of an unexpected problem (details are in the server log). Try another file."
        return UploadOutcome(name, digest, error=message, dataset_label=dataset_label)
    if normaliser is None:
        return UploadOutcome(name, digest, image_rgb, analysis, tuple(decoded.warnings), dataset_label=dataset_label,
                             assessment=assessment, sample_side=sample_side)
    return UploadOutcome(name, image_cache.stained_digest(digest), image_rgb, analysis, tuple(decoded.warnings),
                         dataset_label=dataset_label, assessment=assessment, sample_side=sample_side, stain=REINHARD,
                         unnormalised_rgb=decoded.image_rgb)


def process_file(path: Path, classifier, dataset_label: str | None = None, sample_side: str | None = None) -> UploadOutcome:
    """`process_upload` for a file on the server (a dataset sample). Never raises."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        return UploadOutcome(Path(path).name, "", error=f"{Path(path).name} could not be read: {error.strerror}.",
                             dataset_label=dataset_label)
    return process_upload(Path(path).name, data, classifier, dataset_label, sample_side)


def sample_records(index, sides, per_group: int = SAMPLES_PER_GROUP) -> list[Sample]:
    """Labelled samples, held-out subjects first, each with its side; then the shipped real cells."""
    records = index.labelled() if index is not None else []
    return offered_samples(records, sides, per_group, extra=real_cell_samples())


def sample_option(sample: Sample) -> str:
    """How a sample reads in a picker: file name, class, where it comes from and side of training."""
    source = f"{sample.source}, " if sample.source and sample.source != sample.side else ""
    return f"{sample.path.name} ({labels.display_name(sample.label)}, {source}{sample.side})"


def render_upload_ui(index, sides) -> list[Item]:
    """Uploader plus sample picker -> [(file name, bytes, label in the dataset or None, side or None)]."""
    key = kept_uploads.uploader_key()
    uploader_is_new = key not in st.session_state  # Streamlit dropped its files when the page changed.
    uploads = st.file_uploader(
        "Upload cell images (BMP, PNG, JPEG or TIFF; up to 20 MB each)",
        type=UPLOAD_TYPES, accept_multiple_files=True, key=key,
    )
    kept_uploads.keep_uploads([(upload.name, upload.getvalue()) for upload in uploads or []], uploader_is_new)
    items: list[Item] = [(upload.name, upload.data, None, None) for upload in kept_uploads.kept_uploads()]
    render_kept_uploads()
    if index is None:
        st.caption(f"No dataset samples to offer: {state.dataset_error()}")
    samples = {sample_option(sample): sample for sample in sample_records(index, sides)}
    picked = st.multiselect("…or try sample cells (held-out subjects first; real cells (C-NMC 2019) at the end)",
                            list(samples), key="classify_samples", placeholder="Choose sample cells")
    for option in picked:
        sample = samples[option]
        try:
            items.append((sample.path.name, Path(sample.path).read_bytes(), sample.label, sample.side))
        except OSError as error:
            show_error(f"Could not read the sample {sample.path.name}: {error.strerror}.")
    return items


def size_text(size: int) -> str:
    """A byte count as a person reads it: "23 KB" under a megabyte (never "0.0 MB"), "4.2 MB" from one up."""
    return f"{max(1, round(size / 2**10))} KB" if size < 2**20 else f"{size / 2**20:.1f} MB"


def render_kept_uploads() -> None:
    """How many uploads this session keeps across pages, a button to clear them, and the notice of any dropped."""
    kept = kept_uploads.kept_uploads()
    if kept_uploads.upload_notice():
        show_info(kept_uploads.upload_notice(), icon=":material/info:")
    if not kept:
        return
    size = size_text(sum(len(upload.data) for upload in kept))
    left, right = st.columns([4, 1])
    left.caption(f"{len(kept)} uploaded image{'s' if len(kept) > 1 else ''} ({size}) kept for this session: "
                 "they stay when you change page.")
    right.button("Clear uploads", icon=":material/delete:", on_click=kept_uploads.clear_uploads)


def process_item(name: str, data: bytes, classifier, dataset_label: str | None = None,
                 sample_side: str | None = None) -> UploadOutcome | FieldOutcome:
    """One upload or sample: a smear field's found cells (`ui.field_cells`), else one cell; in the sidebar's stain. Never raises."""
    normaliser = page_normaliser(classifier.loaded.metadata)
    if field_cells.is_field(data, name):
        return field_cells.process_field(name, data, classifier, normaliser)
    return process_upload(name, data, classifier, dataset_label, sample_side, normaliser)


def process_all(items: list[Item], classifier) -> list[UploadOutcome | FieldOutcome]:
    """Run `process_item` over every item, with a progress bar when there are several."""
    progress = st.progress(0.0, text="Classifying…") if len(items) > 1 else None
    outcomes = []
    for number, (name, data, label, side) in enumerate(items, start=1):
        outcomes.append(process_item(name, data, classifier, label, side))
        if progress is not None:
            progress.progress(number / len(items), text=f"Classified {number} of {len(items)}")
    if progress is not None:
        progress.empty()
    return outcomes


def results_table(outcomes: list[UploadOutcome]) -> pd.DataFrame:
    """One row per image or field cell: answer and its limits (the detail view's words), P(ALL), TTA, scope, sample, origin.

    A field's cell (`NAME#k`) keeps its field and box; `stain` says "reinhard" when it was moved to the model's stain.
    """
    rows = []
    for outcome in outcomes:
        # Text cells are "" when empty, numbers NaN: a table shows neither as "None".
        row = {"file": outcome.name, "answer": "", "prediction set": "", "limits": "", "P(ALL)": float("nan"), "TTA mean": float("nan"),
               "TTA spread": float("nan"), "in scope": "", "sample": outcome.sample_side or "",
               "label in dataset": labels.display_name(outcome.dataset_label) if outcome.dataset_label else "",
               "error": outcome.error or "", "field": outcome.field, "box": box_text(outcome.box), "stain": outcome.stain}
        found = outcome.assessment
        if found is not None:
            row.update({"answer": answer_text(found), "prediction set": prediction_set_text(found.prediction_set),
                        "limits": " ".join(qualifications(found)),
                        "P(ALL)": found.probability_all, "TTA mean": nan_for_none(found.tta_mean),
                        "TTA spread": nan_for_none(found.tta_std), "in scope": "no" if found.out_of_scope else "yes"})
        rows.append(row)
    return pd.DataFrame(rows)


def nan_for_none(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def csv_bytes(table: pd.DataFrame) -> bytes:
    """The table as CSV; every text cell starting like a spreadsheet formula gets a leading quote so it stays text."""
    return table.map(safe_cell).to_csv(index=False).encode("utf-8")


NUMBER_COLUMNS = ("P(ALL)", "TTA mean", "TTA spread")


def display_table(table: pd.DataFrame) -> pd.DataFrame:
    """The table as shown: numbers as '0.523' text, "" where there is none (a table draws a missing cell as "None").

    Three-decimal text in [0, 1] still sorts in numeric order.
    """
    shown = table.copy()
    for column in NUMBER_COLUMNS:
        shown[column] = ["" if pd.isna(value) else f"{value:.3f}" for value in shown[column]]
    return shown


def render_results_table(outcomes: list[UploadOutcome]) -> None:
    """Sortable table of every image and its CSV download (full precision there)."""
    table = results_table(outcomes)
    st.dataframe(display_table(table), hide_index=True, column_config={
        "limits": st.column_config.TextColumn(width="large"),
        "error": st.column_config.TextColumn(width="large"),  # A reason and what to do: never cut to a few words.
    })
    if any(outcome.in_field for outcome in outcomes):
        st.caption(LYMPHOID_ONLY_NOTE)
    st.download_button("Download the table (CSV)", csv_bytes(table), file_name="classification_results.csv",
                       mime="text/csv", icon=":material/download:", on_click="ignore")
