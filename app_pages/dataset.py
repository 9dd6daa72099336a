"""Dataset explorer: what the C-NMC folder in use holds, a sample browser, the model's mistakes."""
from __future__ import annotations

import streamlit as st

from core import config
from core.reporting import explorer, explorer_figures
from core.data.index import DatasetIndex, ImageRecord
from core.data.summary import summarize
from core.data.layout import SPLITS
from core.data.labels import display_name
from core.data.sides import SPLIT_NAMES
from core.data.synthetic import is_synthetic
from ui import cache, dataset_widgets, first_launch, state
from ui.messages import plain, show_error


ANY = "any"


def folder_ui() -> None:
    """A choice among the data folders the operator allows (`LEUKEMIA_DATA_ROOTS`); none to type."""
    roots = [str(root) for root in config.data_roots()]
    if len(roots) < 2:
        return
    current = str(state.data_dir())
    chosen = st.selectbox("Data folder", roots, index=roots.index(current) if current in roots else 0, key="dataset_root",
                          help="The folders this server's operator offers (LEUKEMIA_DATA_ROOTS).")
    if chosen != current:
        error = dataset_widgets.switch_data_dir(chosen)
        if error:
            show_error(f"Still using {state.data_dir()}. {error}")


def overview_ui(index: DatasetIndex, summary: dict) -> None:
    """Counts, the charts, the always-"all" baseline and the index warnings."""
    training, images = explorer.training_counts(summary), summary["images"]
    metrics = st.columns(4)
    metrics[0].metric("Training images", f"{training['all'] + training['hem']:,}")
    metrics[1].metric("Training subjects", f"{sum(summary['subjects'].values()):,}")
    metrics[2].metric("External set images", f"{sum(images.get('validation', {}).values()):,}")
    metrics[3].metric("Unlabeled test images", f"{sum(images.get('test', {}).values()):,}")
    left, right = st.columns(2)
    left.plotly_chart(explorer_figures.class_balance_figure(summary))
    right.plotly_chart(explorer_figures.subjects_figure(summary))
    st.plotly_chart(explorer_figures.images_per_subject_figure(explorer.images_per_subject(index.records)))
    st.plotly_chart(explorer_figures.held_out_figure(summary))
    baseline = explorer.chance_baseline(summary)
    if baseline is not None:
        st.markdown(
            f"**Chance baseline.** Always answering *ALL* is right on **{baseline:.1%}** of the labelled "
            f"training images, only because {baseline:.1%} of them are leukemic. An accuracy near that "
            "number means nothing was learned: this baseline finds every ALL cell and clears no healthy "
            "one (sensitivity 100 %, specificity 0 %, balanced accuracy 50 %). Judge a model by "
            "sensitivity, specificity and balanced accuracy on subjects it never saw."
        )
    with st.expander(f"Index warnings ({len(summary['warnings'])})"):
        st.markdown("\n".join(f"- {plain(warning)}" for warning in summary["warnings"]) or "No warnings: the folder is laid out as expected.")


def filters_ui(index: DatasetIndex) -> list[ImageRecord]:
    """Split, class and subject filters; returns the matching records."""
    columns = st.columns(3)
    present = {record.split for record in index.records}
    splits = [split for split in SPLITS if split in present]
    split = columns[0].selectbox("Split", [ANY, *splits], key="dataset_split",
                                 format_func=lambda value: SPLIT_NAMES.get(value, value))
    label = columns[1].selectbox("Class", [ANY, "all", "hem", explorer.UNLABELED], key="dataset_label",
                                 format_func=lambda value: value if value == ANY else explorer.class_name(value))
    chosen = [None if value == ANY else value for value in (split, label)]
    subjects = explorer.subjects(explorer.filter_records(index.records, *chosen))
    subject = columns[2].selectbox("Subject", [ANY, *subjects], key="dataset_subject")
    return explorer.filter_records(index.records, *chosen, None if subject == ANY else subject)


def samples_ui(index: DatasetIndex) -> ImageRecord | None:
    """The filtered, paginated sample grid; returns the record chosen for details, if any."""
    records = filters_ui(index)
    if not records:
        st.info("No image matches these filters.")
        return None
    shown = dataset_widgets.paged(records, "dataset_page")
    captions = [f"{record.path.name} · {display_name(record.label)}" for record in shown]
    dataset_widgets.grid_ui([record.path for record in shown], captions, picks=shown)
    return st.selectbox("Show details for", shown, index=None, key=dataset_widgets.SAMPLE_KEY,
                        placeholder="Choose a sample", format_func=lambda record: record.path.name)


NO_DATA_YET = (
    "**No cell images to explore yet.** This page shows what a C-NMC 2019 folder holds: how many ALL and "
    "Healthy cells, from how many subjects, how they are split into training folds, held-out subjects and the "
    "external set, a browser of the cells themselves, and the held-out cells the model got wrong.\n\n"
    "To get data: **build the demo model on the Classify page** (it draws synthetic cells, which appear here), "
    "or ask whoever runs this app to point `LEUKEMIA_DATA_DIR` at a downloaded C-NMC_Leukemia folder (see **About**)."
)


def no_data_ui() -> None:
    """What the page will show and how to get data; the reason too when a configured folder is unusable."""
    # Before any build the app looks at the demo data's folder, which does not exist yet: nothing is wrong.
    first_contact = state.data_dir() == config.DEMO_DATA_ROOT / config.DATASET_FOLDER_NAME and not state.data_dir().exists()
    if first_contact and first_launch.render_build_notice():  # The build draws the demo cells first.
        return
    if not first_contact:
        show_error(state.dataset_error() or f"No dataset at {state.data_dir()}.")
    st.info(NO_DATA_YET, icon=":material/dataset:")


def render_dataset_page() -> None:
    st.title("Dataset explorer")
    st.caption("What the C-NMC 2019 folder in use holds, how it is split, and where the model goes wrong.")
    folder_ui()
    index = cache.get_dataset_index()
    if index is None:
        no_data_ui()
        return
    summary = summarize(index)
    st.caption(plain(f"Using {index.root}"))
    if is_synthetic(index.root):
        st.warning("These are **synthetic** cells drawn by this app's generator, laid out like C-NMC 2019: "
                   "they show how the explorer works, not what real blood cells look like.", icon=":material/science:")
    overview_ui(index, summary)
    st.header("Samples")
    record = samples_ui(index)
    if record is not None:
        dataset_widgets.sample_ui(record)
    dataset_widgets.misclassified_ui(index)


render_dataset_page()
