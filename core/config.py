"""Every tunable default in one place, read by the app, `train.py` and the command-line tools.

Paths can be overridden with the environment variables `LEUKEMIA_MODEL` and
`LEUKEMIA_DATA_DIR`; command-line flags override both.
"""
from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Class names, label codes and the decision rule live in core.data.labels.

# Model.
IMAGE_SIZE = 224
LAST_CONV_LAYER = "conv5_block3_out"
DEFAULT_THRESHOLD = 0.5
MODEL_FILENAME = "leukemia_resnet50.keras"
# The conformal error rate alpha for "refer" that a user may choose (the sidebar in percent, `core.predict
# --error-rate`, `core.model.calibration.conformal_thresholds`), as a share, both ends included: the share of
# cells of each class allowed to miss their class. At 0.5% a class already needs 199 held-out cells for a finite
# threshold (`calibration.minimum_scores`); past 40% the promise that 1 - alpha of a class keep it nears a coin's.
ERROR_RATE_RANGE = (0.005, 0.40)

# Preprocessing (the original method): CLAHE on the grayscale image, Otsu mask, crop, resize.
CLAHE_CLIP_LIMIT = 2.0
CLAHE_TILE_GRID = (8, 8)
CROP_MARGIN_FRACTION = 0.05
# The share of the image the whole Otsu mask covers, (low, high), in two nested ranges: C-NMC cells cover roughly
# 5-50 %. Outside the wide range Otsu found no cell/background separation at all, so there is nothing to crop
# around and preprocessing uses the whole image (core.imaging.preprocess). Outside the narrow one a crop is made
# but too little or too much of the image is cell for a C-NMC input: it is answered out of scope (core.imaging.scope).
CROP_MASK_FRACTION = (0.002, 0.97)
SCOPE_MASK_FRACTION = (0.01, 0.75)

# Upload safety limits.
ACCEPTED_FORMATS: tuple[str, ...] = ("BMP", "PNG", "JPEG", "TIFF")
MAX_FILE_BYTES = 20 * 1024 * 1024
# A decode briefly holds the whole image (Pillow's image, its RGB copy at 4 bytes a pixel, then 3 in the array):
# about 350 MB at 6000 x 6000, the largest accepted (measured: 343 MiB for a grayscale PNG). It is then downscaled
# at once to MAX_DECODED_SIDE, so nothing keeps it.
MAX_PIXELS = 36_000_000
# The pixels all decodes of the process may hold at once (core.imaging.gate): one image of the largest size, or
# many small ones; the others wait their turn, in arrival order, up to DECODE_WAIT_S. A server's sessions decode in
# threads of one process, so without it 30 sessions sending 36 MP images at once would hold 10 GB.
MAX_DECODING_PIXELS = MAX_PIXELS
# New images decoded and analysed at once in the app, all sessions together (ui.image_cache.image_turn): the model answers
# one at a time, so two keep it busy, and the others wait holding only their upload's bytes, up to DECODE_WAIT_S.
IMAGES_AT_ONCE = 2
DECODE_WAIT_S = 180.0
MAX_DECODED_SIDE = 2048  # Pixels; a C-NMC cell image is 450 x 450 and the model sees at most 1,024.
# What the app's process-wide caches of uploads may hold, in bytes of arrays (ui/image_cache.py); oldest dropped first.
DECODED_CACHE_BYTES = 256 * 1024 * 1024  # Decoded images, at most 12 MB each after downscaling.
ANALYSIS_CACHE_BYTES = 256 * 1024 * 1024  # Per-image results: three (H, W) uint8 stages and the model input.
HEATMAP_CACHE_BYTES = 64 * 1024 * 1024  # (S, S) float32 heatmaps: 0.2 MB at 224 px.
REPORT_CACHE_BYTES = 64 * 1024 * 1024  # HTML reports, made before their download button is drawn.
SAMPLE_CACHE_BYTES = 64 * 1024 * 1024  # The Dataset explorer's preprocessing stages of a file, without a model.
# What one session keeps of its uploads while it moves between pages (ui/kept_uploads.py); oldest dropped first.
SESSION_MAX_UPLOADS = 50
SESSION_MAX_UPLOAD_BYTES = 200 * 1024 * 1024
# What all sessions keep between runs, together (ui/server_memory.py): their kept uploads' bytes and the decoded
# image each last classified (12 MB at 2,048 px a side). The entries of the sessions idle longest go first, and
# their pages say what was let go.
SESSION_STORE_BYTES = 256 * 1024 * 1024
# The server's allocations of this size or more are mapped on their own and handed back when freed (ui/server_memory.py).
MMAP_THRESHOLD_BYTES = 4 * 1024 * 1024
MIN_SIDE_PIXELS = 32
# One person's cells on the Patient page, all files and zips together, zips unpacked. A C-NMC subject has 9 to
# 757 cells (subject 51) of 608,454 bytes each as BMP (450 x 450, 24-bit), at most 461 MB: the limits admit the
# largest and refuse what would fill the server's memory (tests/core/imaging/test_archive.py checks both against
# the C-NMC file list). Each upload is at most MAX_FILE_BYTES, so the largest subject comes as files or several zips.
MAX_PERSON_CELLS = 1_000
# White cells read from one smear field (BCCD fields hold 1 to 4; more means a field far larger than a camera's, or noise).
MAX_FIELD_CELLS = 64
MAX_PERSON_BYTES = 512 * 1024 * 1024
# One zip of them: it can hold no more than a whole person.
MAX_ARCHIVE_MEMBERS = MAX_PERSON_CELLS
MAX_ARCHIVE_UNCOMPRESSED_BYTES = MAX_PERSON_BYTES  # Declared sizes of all members together.
# The Patient page's uploads unpacked and hashed once (ui.patient_uploads), for all sessions together; an upload
# pushed out by others is unpacked again on its next rerun.
PATIENT_UPLOAD_CACHE_BYTES = MAX_PERSON_BYTES
ARCHIVE_IMAGE_SUFFIXES: tuple[str, ...] = (".bmp", ".png", ".jpg", ".jpeg", ".tif", ".tiff")

# Data.
DATASET_FOLDER_NAME = "C-NMC_Leukemia"
# Where the synthetic demo dataset is generated; `LEUKEMIA_DEMO_DATA_ROOT` moves it (benchmarks, read-only installs).
DEMO_DATA_ROOT = Path(os.environ.get("LEUKEMIA_DEMO_DATA_ROOT", PROJECT_ROOT / "data" / "demo")).expanduser()

# The student quiz (Quiz page): cells per round, and the confidence a student can state, in percent.
QUIZ_LENGTH = 10
QUIZ_CONFIDENCE_PERCENT = (50, 100)
QUIZ_DEFAULT_CONFIDENCE_PERCENT = 75

DISCLAIMER = (
    "For research and education only. Not a medical device and not for diagnosis: "
    "never use it to make decisions about a patient."
)


def default_model_path() -> Path:
    """The model file the app and CLIs load: `$LEUKEMIA_MODEL` or `models/leukemia_resnet50.keras`."""
    override = os.environ.get("LEUKEMIA_MODEL")
    return Path(override).expanduser() if override else PROJECT_ROOT / "models" / MODEL_FILENAME


def default_data_dir() -> Path:
    """The C-NMC folder the app explores: `$LEUKEMIA_DATA_DIR` or the synthetic demo dataset."""
    override = os.environ.get("LEUKEMIA_DATA_DIR")
    return Path(override).expanduser() if override else DEMO_DATA_ROOT / DATASET_FOLDER_NAME


def data_roots() -> tuple[Path, ...]:
    """The data folders the app may show: the one in use (`default_data_dir`) and `$LEUKEMIA_DATA_ROOTS`.

    `LEUKEMIA_DATA_ROOTS` is an operator setting, folders separated by the OS path separator
    (":" on Linux). Visitors choose among these; they never type a server path.
    """
    extra = [Path(text).expanduser() for text in os.environ.get("LEUKEMIA_DATA_ROOTS", "").split(os.pathsep) if text.strip()]
    return tuple(dict.fromkeys([default_data_dir(), *extra]))


def allow_modified_model() -> bool:
    """`LEUKEMIA_ALLOW_MODIFIED_MODEL=1`: load a model whose file no longer matches its sidecar's SHA-256.

    Off by default: a changed file means the model card's numbers may not describe it.
    """
    return os.environ.get("LEUKEMIA_ALLOW_MODIFIED_MODEL", "") == "1"


def inference_url() -> str | None:
    """`LEUKEMIA_INFERENCE_URL`: the inference service the app asks for the model's values (`python -m core.serve`), or None.

    Unset (the default), the app runs the model in its own process. Set, e.g. `http://127.0.0.1:8600`,
    every Streamlit replica sends its cells' model inputs there (`core.model.remote`); Explain's
    heatmaps still run the model in the replica.
    """
    value = os.environ.get("LEUKEMIA_INFERENCE_URL", "").strip()
    return value.rstrip("/") or None


INFERENCE_TIMEOUT_S = 120.0  # how long one request may wait for the service (behind other sessions' batches)
SERVE_PORT = 8600  # `python -m core.serve`'s default port, on 127.0.0.1


# How one answer about a subject is made from many of their cells (`core.subjects.rules`, which says what
# each rule does); named here, below the model layer, because a sidecar's subject evaluation names them too.
SUBJECT_RULES: tuple[str, ...] = ("mean_log_odds", "mean_probability", "share_above_threshold")
DEFAULT_SUBJECT_RULE = "mean_log_odds"

BATCH_PRECISIONS = ("auto", "float32", "bfloat16")


def batch_precision_setting() -> str:
    """`LEUKEMIA_BATCH_PRECISION`: how large batches run through the model (`core.model.fast_batches`).

    "auto" (the default) uses mixed bfloat16 on a CPU that computes it natively and float32
    elsewhere; "float32" turns it off; "bfloat16" forces it. Any other value counts as "auto".
    """
    value = os.environ.get("LEUKEMIA_BATCH_PRECISION", "auto").strip().lower()
    return value if value in BATCH_PRECISIONS else "auto"


# What travels beside a model `<stem>.keras`, each at `<stem><suffix>` (`beside_model`); the held-out
# predictions' suffixes are `core.training.sidecar.PREDICTIONS_SUFFIXES`.
SIDECAR_SUFFIX = ".json"  # the metadata the app reads (`core.model.store`)
SPLIT_CSV_SUFFIX = ".split.csv"  # each file's role: training, tuning, calibration, external (`core.data.sides`)
INDEX_SUFFIX = ".index.npz"  # the known cells' features (`core.training.neighbours`)
BEST_CHECKPOINT_SUFFIX, LOG_SUFFIX = ".best.keras", ".log.csv"  # training's checkpoint and epoch log
CACHE_SUFFIX, BACKUP_SUFFIX, PROGRESS_SUFFIX = ".cache", ".backup", ".progress.json"  # a run's cache and resume state


def beside_model(model_path: str | Path, suffix: str) -> Path:
    """The file beside a model with this suffix: `models/x.keras`, ".split.csv" -> `models/x.split.csv`."""
    model_path = Path(model_path)
    return model_path.with_name(model_path.stem + suffix)


def sidecar_path(model_path: str | Path) -> Path:
    """The metadata JSON that travels with a model: same name, `.json` suffix."""
    return beside_model(model_path, SIDECAR_SUFFIX)
