"""The Dataset explorer's drawing pieces: a paged thumbnail grid, one sample's stages and answer,
and the held-out images the model got wrong.

Thumbnails are decoded on demand, only for the images on screen, and cached by path and
modification time (`ui.cache.thumbnail`), so the full 15,114-image tree stays fast.
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from core import config
from core.data.labels import display_name, format_threshold
from core.data.sides import SET_TITLES, SPLIT_NAMES, set_words, side_of_record
from core.model.assessment import answer_text
from core.reporting import explorer
from core.data.index import DatasetIndex, ImageRecord
from core.errors import ModelError
from ui import cache, classify_widgets, image_cache, result_widgets, state
from ui.messages import plain, show_error, show_info

PER_PAGE = 12
GRID_COLUMNS = 6
SAMPLE_KEY = "dataset_sample"  # widget key of the "Show details for" selectbox
HELD_OUT_TITLES = SET_TITLES


def pick_sample(record: ImageRecord) -> None:
    """Button callback: choose `record` in the "Show details for" box before it is drawn."""
    st.session_state[SAMPLE_KEY] = record


def grid_ui(paths: list[Path | None], captions: list[str], picks: list[ImageRecord] | None = None) -> None:
    """Thumbnails in rows of GRID_COLUMNS, decoded on demand; with `picks`, a Details button under each."""
    for row_start in range(0, len(paths), GRID_COLUMNS):
        for offset, column in enumerate(st.columns(GRID_COLUMNS)[: len(paths) - row_start]):
            path, caption = paths[row_start + offset], captions[row_start + offset]
            image, error = (None, "file not found") if path is None else cache.thumbnail(str(path), cache.file_stamp(path))
            with column:
                if image is None:
                    st.caption(plain(f"{caption}: {error}"))
                else:
                    st.image(image, caption=plain(caption))  # Image captions are Markdown too: file names are not.
                if picks is not None:
                    st.button("Details", key=f"pick_{path}", on_click=pick_sample, args=(picks[row_start + offset],))


def paged(items: list, key: str) -> list:
    """The items on the page chosen in a page-number input (reset when the list changes length)."""
    pages = explorer.page_count(len(items), PER_PAGE)
    page = st.number_input(f"Page (of {pages}, {len(items):,} images)", 1, pages, 1, key=key) if pages > 1 else 1
    return explorer.page_items(items, int(page), PER_PAGE)


def sample_ui(record: ImageRecord) -> None:
    """One image's preprocessing stages and, when a model loads, its answer: the same analysis as Classify's."""
    st.subheader(plain(record.path.name), anchor=False)
    split = SPLIT_NAMES.get(record.split, f"training fold {record.split}")
    st.caption(f"{split} · class {display_name(record.label)} · subject {record.subject or 'unknown'}")
    classifier = cache.get_classifier() if state.model_path().is_file() else None
    if classifier is None:
        image_rgb, stages, error = image_cache.sample_stages(str(record.path), cache.file_stamp(record.path))
        if error:
            show_error(error)
            return
        render_stage_panels(image_rgb, stages)
        show_info(f"No prediction: {state.model_error() or 'no model is loaded.'} Build one on the Classify page.")
        return
    side = side_of_record(record, cache.get_split_sides(classifier))
    outcome = classify_widgets.process_file(record.path, classifier, dataset_label=record.label, sample_side=side)
    if outcome.error:
        show_error(outcome.error)
        return
    render_stage_panels(outcome.image_rgb, outcome.analysis.stages)
    result_widgets.render_scope_warning(outcome.analysis)
    found = outcome.assessment
    verdict = "" if record.label is None or found.out_of_scope else (
        " — correct." if found.label == record.label else " — **wrong**.")
    spread = "" if found.tta_mean is None else f", over 8 views {found.tta_mean:.3f} ± {found.tta_std:.3f}"
    st.markdown(f"Model: **{answer_text(found)}**, P(ALL) = {found.probability_all:.3f}{spread} "
                f"at threshold {format_threshold(found.threshold)}{verdict} Sample: {side}.")
    result_widgets.render_qualifications(found)


def render_stage_panels(image_rgb, stages) -> None:
    """The original and its preprocessing stages side by side, and the preprocessing's fallback note."""
    panels = [("Original", image_rgb), ("Grayscale", stages.grayscale), ("CLAHE", stages.clahe),
              ("Otsu mask, largest blob", stages.mask), ("Model input", stages.model_input)]
    for column, (caption, image) in zip(st.columns(len(panels)), panels):
        column.image(image, caption=caption, width="stretch")
    if stages.fallback:
        st.warning(stages.fallback)


def misclassified_ui(index: DatasetIndex) -> None:
    """Held-out images the model got wrong, from its predictions CSV at the sidecar's threshold."""
    if not config.sidecar_path(state.model_path()).is_file():
        return
    try:
        metadata, _ = cache.model_sidecar()
    except ModelError:
        return  # The Model card page explains an unreadable sidecar.
    folder = state.model_path().parent
    sets = {name: evaluation for name, evaluation in (metadata.get("evaluation") or {}).items()
            if isinstance(evaluation, dict) and (folder / str(evaluation.get("predictions_csv"))).is_file()}
    if not sets:
        return
    st.header("Misclassified in the held-out set")
    name = st.radio("Held-out set", list(sets), horizontal=True, key="dataset_held_out",
                    format_func=lambda value: HELD_OUT_TITLES.get(value, value)) if len(sets) > 1 else next(iter(sets))
    csv_path = folder / sets[name]["predictions_csv"]
    rows, error = cache.predictions(str(csv_path), cache.file_stamp(csv_path))
    if error:
        show_info(error)
        return
    threshold = float(sets[name].get("threshold", metadata.get("threshold", config.DEFAULT_THRESHOLD)))
    wrong = explorer.misclassified(rows, threshold)
    st.caption(f"{len(wrong)} of {len(rows)} images of the {set_words(name)} are wrong at threshold {format_threshold(threshold)}; most confidently wrong first.")
    shown = paged(wrong, "dataset_wrong_page") if wrong else []
    paths = [explorer.resolve_image(row["path"], index.root, csv_path.parent) for row in shown]
    grid_ui(paths, [f"true {display_name(row['label'])} · P(ALL) {row['probability_all']:.3f}" for row in shown])


def switch_data_dir(path_text: str) -> str | None:
    """Use another of the allowed data folders if it indexes; otherwise keep the current one and say why."""
    if Path(path_text) not in config.data_roots():
        return "That folder is not one this server offers; an operator can add it to LEUKEMIA_DATA_ROOTS."
    previous = st.session_state.get(state.DATA_DIR_KEY, str(state.data_dir()))
    st.session_state[state.DATA_DIR_KEY] = str(Path(path_text))
    if cache.get_dataset_index() is not None:
        return None
    error = st.session_state.get(state.DATASET_ERROR_KEY)
    st.session_state[state.DATA_DIR_KEY] = previous
    cache.get_dataset_index()
    return error
