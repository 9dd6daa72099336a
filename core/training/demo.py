"""The demo recipe: ResNet50 from random weights on a few hundred synthetic cells.

Sized to finish within 5 minutes on a 2-core CPU (README lists the measured time and AUC).
The app builds it on first launch through `build_demo_model`, in a worker process.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from core import config
from core.training.options import Progress, TrainOptions

DEMO_IMAGE_SIZE = 96
DEMO_EPOCHS = 14
DEMO_BATCH_SIZE = 32
DEMO_LEARNING_RATE = 1e-3
# 24 subjects of 20 cells give the external set (6 subjects, 109 cells) and the test folder, the same files
# as before the roles; 18 more training subjects (42 in all: 28 ALL, 14 healthy) of about 14 cells each leave
# 4 ALL + 2 healthy subjects for tuning, 6 + 3 for calibration and 27 to train (384 cells, as many as before).
DEMO_SUBJECTS = 24
DEMO_IMAGES_PER_SUBJECT = 20
DEMO_EXTRA_TRAINING_SUBJECTS = 18
DEMO_TRAINING_IMAGES_PER_SUBJECT = 14
# Above the default 0.15: 3 healthy calibration donors give about 40 healthy cells, and a 5% conformal threshold
# is the single largest score of a class below 39 cells (one odd cell then sets it); 2 donors gave 27.
DEMO_CALIBRATION_FRACTION = 0.2
# Random-init BatchNorm needs fast-moving statistics over a few dozen steps (see bn_momentum).
DEMO_BN_MOMENTUM = 0.9
# The fields the demo recipe sets; a flag given explicitly on the command line overrides its field.
DEMO_RECIPE = {
    "demo": True,
    "weights": "none",
    "image_size": DEMO_IMAGE_SIZE,
    "epochs": DEMO_EPOCHS,
    "fine_tune_epochs": 0,
    "batch_size": DEMO_BATCH_SIZE,
    "learning_rate": DEMO_LEARNING_RATE,
    "bn_momentum": DEMO_BN_MOMENTUM,
    "patience": 6,
    "calibration_fraction": DEMO_CALIBRATION_FRACTION,
}


def demo_options(options: TrainOptions, overrides: dict[str, Any] | None = None) -> TrainOptions:
    """The demo recipe on top of `options`: random weights, small images, one phase.

    Args:
        options: every other setting (data folder, output, seed, dry run...).
        overrides: fields the user set explicitly; they win over the recipe.
    """
    return replace(options, **{**DEMO_RECIPE, **(overrides or {})})


def with_demo_data(options: TrainOptions, progress: Progress | None = None) -> TrainOptions:
    """`options` with `data_dir` set to the synthetic demo data (generated first) when it names none."""
    if options.data_dir is not None:
        return options
    return replace(options, data_dir=ensure_demo_data(config.DEMO_DATA_ROOT, progress))


DEMO_DATA = {"subjects": DEMO_SUBJECTS, "images_per_subject": DEMO_IMAGES_PER_SUBJECT, "seed": 0,
             "extra_training_subjects": DEMO_EXTRA_TRAINING_SUBJECTS,
             "training_images_per_subject": DEMO_TRAINING_IMAGES_PER_SUBJECT}


def ensure_demo_data(data_root: Path, progress: Progress | None = None) -> Path:
    """The synthetic C-NMC tree under data_root, generated first if it is not there yet.

    A synthetic tree of an older demo recipe (its marker note records another one, e.g. the 24 subjects
    from before the three roles) is drawn again; a folder without the marker is never touched.
    """
    from core.data import synthetic  # Drawing cells needs OpenCV only when there is no data yet.

    dataset_root = Path(data_root) / config.DATASET_FOLDER_NAME
    wanted = synthetic.recipe_text(**DEMO_DATA)
    stale = synthetic.is_synthetic(dataset_root) and synthetic.recorded_recipe(dataset_root) != wanted
    if (dataset_root / "training_data").is_dir() and not stale:
        return dataset_root
    if progress:
        progress(0.0, "Generating the synthetic demo cells…")
    return synthetic.generate_dataset(data_root, overwrite=stale, **DEMO_DATA)


def build_demo_model(model_path: Path, data_root: Path, progress: Progress | None = None) -> Path:
    """Generate the synthetic data if needed and train the demo model (a few minutes on a CPU).

    Args:
        model_path: where the .keras file goes; its sidecar and CSVs go next to it.
        data_root: folder that holds (or will hold) C-NMC_Leukemia/ with the synthetic cells.
        progress: called with (fraction in [0, 1], message) as work advances.

    Returns:
        model_path, once the model and its sidecar are written.
    """
    from core.training.run import train  # TensorFlow loads only when a build starts.

    dataset_root = ensure_demo_data(Path(data_root), progress)
    options = demo_options(TrainOptions(data_dir=dataset_root, output=Path(model_path)))
    train(options, progress=progress, log=lambda line: None)
    return Path(model_path)
