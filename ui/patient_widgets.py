"""The Patient page's inputs and analysis: the cells of one person in, a `PatientView` out.

Cells come from several files, a folder, zip archives (read by `core.imaging.archive`, which refuses
unsafe ones; each upload unpacked and hashed once, `ui.patient_uploads`, and all of them together bounded
by `check_person_total`) or a held-out subject of the dataset in use. Files whose C-NMC names say
several subjects get a warning naming them and a choice: all of them as one person, or one subject's.
They are analysed a batch at a time (`ui.cohort_cache.patient_batch`: one cached call per 32 cells,
no round trip to the page per cell, no test-time augmentation; the model's pass takes
`Classifier.many_batch_size` cells at once, and the next batch is decoded meanwhile,
`core.subjects.cells.analyse_in_batches`) under a progress bar, and the result is kept in
the session (`ui.state.remember_patient`) so that a visit to the Explain page and back finds it again.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st

from core import config
from core.data import labels
from core.data.names import describe, group_by_subject, natural_sort_key
from core.data.sides import held_out_subjects
from core.errors import ArchiveError
from core.imaging.archive import check_person_total
from core.subjects.cells import analyse_in_batches, assess_cells
from core.subjects.summary import SubjectCell
from ui import cache, cohort_cache, patient_uploads, state
from ui.classify_widgets import UPLOAD_TYPES
from ui.messages import plain
from core.imaging.stain import ReinhardNormaliser
from ui.stain import page_normaliser, stain_note

FILES, FOLDER, SUBJECT = "Files or a zip of them", "A folder", "A held-out subject of the dataset"
BATCH_SIZE = 32  # Cells per cached call and progress step.
UPLOADED = "uploaded cells"
AS_ONE_PERSON = "All of them, as one person"
SUBJECT_CHOICE_KEY = "patient_subject_choice"


@dataclass(frozen=True)
class PatientInput:
    """The files of one person: (name, bytes) each, and where they come from."""

    subject: str
    files: list[tuple[str, bytes]]
    digests: list[str]  # SHA-256 hex of each file's bytes, computed once (`ui.patient_uploads`).
    side: str | None = None  # `core.data.sides` words for a held-out subject; None for uploads.
    dataset_label: str | None = None
    paths: list[Path | None] = field(default_factory=list)  # The file of each cell on the server, when it has one.


@dataclass(frozen=True)
class PatientView:
    """One person's assessed cells, as kept in the session (no image bytes: thumbnails and server paths only)."""

    subject: str
    cells: list[SubjectCell]
    side: str | None
    dataset_label: str | None
    paths: dict[str, Path]  # content digest -> file on the server (held-out subjects), for Explain later
    key: tuple


def stain_key(normaliser: ReinhardNormaliser | None) -> str:
    """"" without stain normalisation, else the reference stain's text: part of every key of the page's analysis."""
    return "" if normaliser is None else repr(normaliser.reference)


def last_view(classifier) -> tuple[PatientView | None, str | None]:
    """(the person last answered in this session, None), or (None, why it is not shown) when its answer would be stale.

    A view assessed by another model, or at another error rate than the sidebar's now, is not shown:
    its cells' bytes are not kept, so it cannot be assessed again without them.
    """
    last = state.last_patient()
    if last is None or last.key[0] != cache.model_key(classifier):
        return None, None
    if last.key[2] != state.error_rate():
        return None, (f"{plain(last.subject)} was answered at an error rate of {100 * last.key[2]:g}%; the sidebar now says "
                      f"{100 * state.error_rate():g}%. Give the cells again to answer at the new rate.")
    if last.key[4] != stain_key(page_normaliser(classifier.loaded.metadata)):
        return None, (f"{plain(last.subject)} was answered {'without' if not last.key[4] else 'with'} the cells moved to the "
                      "model's stain; the sidebar now says otherwise. Give the cells again to answer that way.")
    return last, None


def subject_choice_ui(files: list[tuple[str, str, bytes]]) -> tuple[str, list[tuple[str, str, bytes]]]:
    """(who the files are answered as, the files): a C-NMC subject all their names share, else "uploaded cells".

    When the names say several C-NMC subjects, a warning names them and a select box offers to answer
    them as one person anyway (the default) or one subject's cells only.
    """
    groups = group_by_subject(files, name_of=lambda file: file[0])
    subjects = sorted((subject for subject in groups if subject is not None), key=natural_sort_key)
    if len(subjects) < 2:
        return (subjects[0] if subjects and None not in groups else UPLOADED), files
    unnamed = len(groups.get(None, []))
    st.warning(plain(f"These {len(files):,} cells are named after {len(subjects)} different C-NMC subjects "
                     f"({describe(subjects, limit=10)})" + (f", and {unnamed:,} name none" if unnamed else "")
                     + ": answered as one person, the answer mixes people. Choose one subject to answer about "
                     "that person only."), icon=":material/group:")
    options = [AS_ONE_PERSON, *subjects]
    choice = st.selectbox("Answer about", options, key=SUBJECT_CHOICE_KEY, format_func=lambda option: option
                          if option == AS_ONE_PERSON else f"Subject {option} only ({len(groups[option]):,} cells)")
    return (UPLOADED, files) if choice in (None, AS_ONE_PERSON) else (choice, groups[choice])


def render_upload_notes(found: patient_uploads.UnpackedUpload) -> None:
    """What became of one zip: refused, members skipped, or no image in it."""
    if found.error:
        st.error(plain(found.error), icon=":material/folder_zip:")
    elif found.is_zip and found.skipped:
        st.caption(plain(f"{found.name}: {found.skipped} file(s) that are not images (BMP, PNG, JPEG, TIFF) skipped."))
    if found.is_zip and not found.error and not found.files:
        st.warning(plain(f"{found.name} holds no image files (BMP, PNG, JPEG or TIFF). Zip the cell images themselves."))


def person_files(uploads) -> list[tuple[str, str, bytes]] | None:
    """(name, digest, bytes) of every cell of the uploads, zips unpacked; None (said on the page) past one person's limits."""
    files: list[tuple[str, str, bytes]] = []
    total_bytes = 0
    for upload in uploads or []:
        found = patient_uploads.unpacked(upload)
        render_upload_notes(found)
        files += found.files
        total_bytes += found.total_bytes
        try:
            check_person_total(len(files), total_bytes)  # Before unpacking the next zip.
        except ArchiveError as error:
            st.error(plain(str(error)), icon=":material/block:")
            return None
    return files


def uploads_input(uploads) -> PatientInput | None:
    """Uploaded files (zips unpacked) as one person's cells, or None when there are none."""
    files = person_files(uploads)
    if not files:
        return None
    subject, files = subject_choice_ui(files)
    names, digests, data = (list(column) for column in zip(*files))
    return PatientInput(subject, list(zip(names, data)), digests, paths=[None] * len(files))


def subject_input(classifier) -> PatientInput | None:
    """A held-out subject of the dataset in use, chosen in a select box, with its cells read from disk."""
    index = cache.get_dataset_index()
    if index is None:
        st.info(f"No dataset to pick a subject from: {plain(state.dataset_error() or '')}", icon=":material/dataset:")
        return None
    subjects = held_out_subjects(index.labelled(), cache.get_split_sides(classifier))
    if not subjects:
        st.info("The dataset in use has no held-out subjects for this model (no validation side in its split CSV "
                "and no labelled external set). Upload cells instead.", icon=":material/dataset:")
        return None
    options = {f"{s.subject} ({labels.display_name(s.label)}, {s.side}, {len(s.paths)} cells)": s for s in subjects}
    choice = st.selectbox("Held-out subject", list(options), index=None, key="patient_subject",
                          placeholder="Choose a subject the model never trained on")
    if choice is None:
        return None
    chosen, files, digests, paths = options[choice], [], [], []
    for path in chosen.paths:
        try:
            data = path.read_bytes()
            digests.append(patient_uploads.file_digest(path, data))
        except OSError as error:
            st.error(f"Could not read {plain(path.name)}: {plain(error.strerror or 'unreadable')}.")
            continue
        files.append((path.name, data))
        paths.append(path)
    return PatientInput(chosen.subject, files, digests, chosen.side, chosen.label, paths) if files else None


def render_input_ui(classifier) -> PatientInput | None:
    """Where the cells come from, and the cells; None until there are some."""
    source = st.radio("Cells of one person", [FILES, FOLDER, SUBJECT], horizontal=True, key="patient_source")
    if source == FILES:
        return uploads_input(st.file_uploader(
            "Upload the cell images of one person (BMP, PNG, JPEG or TIFF), or zips of them (up to 20 MB each)",
            type=[*UPLOAD_TYPES, "zip"], accept_multiple_files=True, key="patient_files"))
    if source == FOLDER:
        return uploads_input(st.file_uploader("Upload a folder of one person's cell images (its image files are read)",
                                              type=UPLOAD_TYPES, accept_multiple_files="directory", key="patient_folder"))
    return subject_input(classifier)


def analyse(patient: PatientInput, classifier) -> PatientView | None:
    """Every cell assessed, a batch of files per forward pass under a progress bar; the session's last view when unchanged.

    A smear field gives each of its whole white cells (`core.subjects.cells.prepare_file`); cells are moved
    to the model's training stain first when the sidebar asks (`ui.stain`). None (said on the page) when
    the files' cells pass `config.MAX_PERSON_CELLS`.
    """
    digests = patient.digests
    metadata = classifier.loaded.metadata
    normaliser = page_normaliser(metadata)
    stain = stain_key(normaliser)
    key = (cache.model_key(classifier), tuple(digests), state.error_rate(), patient.side, stain)
    last = state.last_patient()
    if last is not None and last.key == key and last.subject == patient.subject:
        return last
    if note := stain_note(metadata):
        st.info(note, icon=":material/palette:")
    total, done, analysed = len(patient.files), 0, []
    progress = st.progress(0.0, text=f"Analysing {total} files…")
    batches = [[(name, digest, data) for (name, data), digest in zip(patient.files[start : start + BATCH_SIZE],
                                                                     digests[start : start + BATCH_SIZE])]
               for start in range(0, total, BATCH_SIZE)]

    def cached(batch, prepared, on_miss) -> list:
        names, batch_digests, data = (tuple(column) for column in zip(*batch))
        return cohort_cache.patient_batch(key[0], names, batch_digests, classifier, data, stain, _normaliser=normaliser,
                                          _prepared=prepared, _on_miss=on_miss)

    for batch, cells in zip(batches, analyse_in_batches(classifier, batches, cached, normaliser)):
        analysed += cells
        done += len(batch)
        if len(analysed) > config.MAX_PERSON_CELLS:
            progress.empty()
            st.error(f"These files hold more than {config.MAX_PERSON_CELLS:,} cells (smear fields count each white cell), "
                     "more than are read for one person. Give fewer files or fields.", icon=":material/block:")
            return None
        progress.progress(done / total, text=f"Analysed {done} of {total} files ({len(analysed)} cells)")
    progress.empty()
    cells = assess_cells(classifier, analysed, [file for batch in batches for file in batch], patient.side, key[2], normaliser)
    paths = {digest: path for digest, path in zip(digests, patient.paths) if path is not None}
    view = PatientView(patient.subject, cells, patient.side, patient.dataset_label, paths, key)
    state.remember_patient(view)
    return view
