"""About: what the app is for, how the method works, how well it can work, and where the data comes from."""
import streamlit as st

from core.errors import LeukemiaAppError
from core.reporting.recipe import recipe_lines
from ui import cache

st.title("About")
st.caption("Intended use, method, honest performance, data, and limitations.")


def intended_use_section() -> None:
    """What the app is for, and what it is not for."""
    st.header("Intended use", anchor=False)
    st.markdown(
        "This app is for **research and education**: to show clinicians and students how a "
        "convolutional network classifies microscope images of single white blood cells as "
        "**acute lymphoblastic leukemia (ALL)** blasts or **Healthy** (normal) lymphocytes, how it "
        "reaches an answer, and why such numbers need care. It is **not a medical device** and must "
        "never be used for diagnosis or for any decision about a patient."
    )


def model_in_use_section() -> None:
    """The recipe of the model loaded now, read from its sidecar: the demo's differs from the full one."""
    st.header("The model in use", anchor=False)
    try:
        metadata, _ = cache.model_sidecar()
    except LeukemiaAppError:
        metadata = {}
    lines = recipe_lines(metadata)
    if not lines:
        st.info("No model is loaded yet, or its model card says nothing of how it was made: the recipe below is "
                "the one `train.py` follows on the real data. Build the demo model on the **Classify** page.")
        return
    if metadata.get("is_demo"):
        st.warning("This is the **demo model**: a smaller, quicker recipe than the full one below, on synthetic cells.",
                   icon=":material/science:")
    st.markdown("\n".join(f"- {line}" for line in lines))
    st.caption("Read from the model's card (its sidecar JSON); the **Model card** page has the details.")


def method_section() -> None:
    """The full method for the real C-NMC data, as `train.py` runs it without --demo."""
    st.header("The full recipe (real C-NMC data)", anchor=False)
    st.markdown(
        "1. **Preprocessing** (the same code for training, the app and the command line): convert to "
        "grayscale; equalise local contrast with **CLAHE**; threshold with **Otsu's method** to a mask "
        "and keep the largest blob; **crop** a square around the cell; **resize to 224 × 224** pixels.\n"
        "2. **Model**: **ResNet50** pre-trained on ImageNet, without its top, followed by global average "
        "pooling, dropout, a dense layer, dropout and **one sigmoid unit** giving P(ALL).\n"
        "3. **Training**: **Adam**, **binary cross-entropy**, **early stopping** and the **best "
        "checkpoint** kept (both judged on the ROC AUC of the held-out subjects); the head is trained on the frozen "
        "base first, then the whole network is fine-tuned at a small learning rate.\n"
        "4. **Answer**: ALL when P(ALL) reaches the threshold recorded in the model card. The app also "
        "shows the spread of P(ALL) over 8 flips and rotations of the cell (test-time augmentation) and "
        "a Grad-CAM heatmap of where the network looked."
    )


def performance_section() -> None:
    """Honest performance: the leak of a random image split, the baseline, the best credible results."""
    st.header("How well can it work?", anchor=False)
    st.markdown(
        "The original project reported **89.87 % test accuracy** on a **random 80/20 split of the "
        "images**. That figure **overstates** what to expect on a new patient: C-NMC holds many cells "
        "from each subject, and cells of one subject look alike (same smear, stain and microscope). A "
        "random image split puts cells of the same subjects on both sides, so the test set rewards "
        "recognising subjects rather than disease. Published comparisons measure this leak at about "
        "**+0.04 AUROC**.\n\n"
        "- **Baseline**: answering \"ALL\" for every cell already scores **68.2 %** accuracy on the "
        "training folds (about two thirds of the cells are ALL), so accuracy alone says little.\n"
        "- **Honest evaluation** keeps every subject on one side only (a subject-level split), as the "
        "`train.py` default does; the model card reports its results that way.\n"
        "- **Best credible subject-disjoint results**: a weighted F1 of about **0.91** for the ISBI 2019 "
        "challenge winner, and AUROC around **0.91–0.94** in later work."
    )


def data_section() -> None:
    """Where the data comes from and under which licence."""
    st.header("The data", anchor=False)
    st.markdown(
        "**C-NMC 2019** (Gupta, Gupta et al.), published by **The Cancer Imaging Archive** under "
        "**CC BY 3.0**, [doi:10.7937/tcia.2019.dc64i46r](https://doi.org/10.7937/tcia.2019.dc64i46r); "
        "also distributed on Kaggle as **\"leukemia-classification\"**. Its training set holds "
        "**10,661 images from 73 subjects** (segmented cells, 450 × 450 pixels, black background). "
        "Without it, the app runs on a **synthetic demo dataset** that it draws itself; a demo model "
        "trained on it says nothing about real cells."
    )


def real_training_section() -> None:
    """How to train on C-NMC 2019."""
    st.header("Train on the real dataset", anchor=False)
    st.markdown("Download and unpack the Kaggle dataset, then run:")
    st.code("python train.py --data-dir PATH/C-NMC_Leukemia --weights imagenet", language="bash")
    st.markdown(
        "`--weights imagenet` downloads the ImageNet weights (internet needed); `--weights none` starts "
        "from random weights; `--weights PATH` uses a local weights file. The app loads "
        "`models/leukemia_resnet50.keras` by default; point it elsewhere with `LEUKEMIA_MODEL`, and at "
        "another data folder with `LEUKEMIA_DATA_DIR`."
    )


def limitations_section() -> None:
    """What the model cannot know."""
    st.header("Limitations", anchor=False)
    st.markdown(
        "- **Lymphoid cells only**: C-NMC holds B-lineage lymphoid cells only, one segmented cell on black, so the "
        "model only judges lymphoid cells. From a smear field or an analyser's crop the app finds each white cell "
        "and cuts it out as C-NMC did; a neutrophil, eosinophil or monocyte found there gets an answer that means "
        "nothing, so a cell whose nucleus is plainly not lymphoid (lobed, kidney-shaped, or a small share of the "
        "cell) is referred, and other inputs that look out of scope are flagged.\n"
        "- **Other labs' stains**: the sidebar can move each cell to the model's training stain (Reinhard "
        "normalisation, recorded on every answer); how far that makes the answers right on another lab's cells "
        "is unmeasured.\n"
        "- **One dataset, one laboratory**: the model has never seen other scanners, stains or "
        "populations, and its accuracy there is unknown.\n"
        "- **Grad-CAM illustrates, it does not validate**: a plausible heatmap does not make an answer right.\n"
        "- **Not for diagnosis**: research and education only."
    )


def about_page() -> None:
    """Static text: every number here is cited, every limitation stated."""
    intended_use_section()
    model_in_use_section()
    method_section()
    performance_section()
    data_section()
    real_training_section()
    limitations_section()


about_page()
