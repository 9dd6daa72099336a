"""The Quiz and Patient pages' Streamlit caches: the cells each quiz source offers, and batches of a person's cells.

Built on `ui.cache`'s model key, dataset index and split sides. Nothing here computes: it only
calls into `core`.
"""
from __future__ import annotations

import streamlit as st

from ui import state
from ui.cache import file_stamp, get_dataset_index, get_split_sides, model_key


# The Quiz page: the cells each source offers, per model, data folder and split CSV.


@st.cache_data(max_entries=4, show_spinner="Finding the quiz cells…")
def _quiz_pools(model: str, data_dir: str, stamps: tuple[tuple, float], is_demo: bool, _index, _sides) -> dict:
    from core.data.quiz_cells import HELD_OUT, REAL, held_out_cells, real_cells

    return {REAL: real_cells(_sides, is_demo),
            HELD_OUT: held_out_cells(_index.labelled() if _index is not None else [], _sides)}


def get_quiz_pools(classifier) -> dict:
    """{source: [Sample]} of `core.data.quiz_cells` for this model and the data folder in use (a source may be [])."""
    from core.data.index_stamp import index_stamp
    from core.data.sides import split_csv_path

    index, path = get_dataset_index(), state.data_dir()
    stamps = (index_stamp(path), file_stamp(split_csv_path(classifier.loaded.path)))
    is_demo = bool(classifier.loaded.metadata.get("is_demo"))
    return _quiz_pools(model_key(classifier), str(path), stamps, is_demo, index, get_split_sides(classifier))


# The Patient page: many cells of one person, a batch of cells per cached call.


@st.cache_data(max_entries=64, show_spinner=False)  # About 0.6 MB per batch of 32 cells (96 px thumbnails, features).
def patient_batch(model: str, names: tuple[str, ...], digests: tuple[str, ...], _classifier, _data: tuple[bytes, ...],
                  stain: str = "", _normaliser=None, _prepared=None, _on_miss=None) -> list:
    """`AnalysedCell`s of one batch of files (a field gives each of its cells), cached on (model, names, digests, stain).

    Forward passes of `Classifier.many_batch_size` cells (`core.subjects.cells.analyse_prepared`);
    the bytes stay out of the key (leading underscore): the digests identify them. The assessment, which
    depends on the error rate, is made afterwards from these.

    Args:
        stain: "" without stain normalisation, else the reference stain's text (part of the key);
            `_normaliser` is the `ReinhardNormaliser` it names.
        _prepared: a callable giving these files' `prepare_files` result (`analyse_in_batches` passes
            one), or None to prepare them here.
        _on_miss: called first when the batch is not cached (the page starts preparing the next batch then,
            so that it is ready when the model is done with this one).
    """
    from core.subjects.cells import analyse_prepared, prepare_files

    if _on_miss is not None:
        _on_miss()
    files = list(zip(names, digests, _data))
    prepared = _prepared() if _prepared is not None else prepare_files(files, _classifier.image_size, _normaliser)
    return analyse_prepared(_classifier, prepared, batch_size=_classifier.many_batch_size)
