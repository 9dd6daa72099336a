"""The C-NMC 2019 folder layout (Kaggle "leukemia-classification"), defined once.

    C-NMC_Leukemia/training_data/fold_{0,1,2}/{all,hem}/UID_{subject}_{image}_{cell}_{class}.bmp
    C-NMC_Leukemia/validation_data/C-NMC_test_prelim_phase_data/{1..1867}.bmp
    C-NMC_Leukemia/validation_data/C-NMC_test_prelim_phase_data_labels.csv
    C-NMC_Leukemia/testing_data/C-NMC_test_final_phase_data/{1..2586}.bmp
"""
from __future__ import annotations

from pathlib import Path

from core.config import DATASET_FOLDER_NAME
from core.data.labels import LABELS

__all__ = ["DATASET_FOLDER_NAME", "EXPECTED_ENTRIES", "SPLITS", "SPLIT_FOLDERS", "SYNTHETIC_MARKER",
           "TOP_FOLDERS", "TRAINING_FOLDS", "VALIDATION_CSV"]

TRAINING_FOLDS = ("fold_0", "fold_1", "fold_2")
SPLITS = (*TRAINING_FOLDS, "validation", "test")
SPLIT_FOLDERS = {
    **{fold: f"training_data/{fold}" for fold in TRAINING_FOLDS},
    "validation": "validation_data/C-NMC_test_prelim_phase_data",
    "test": "testing_data/C-NMC_test_final_phase_data",
}
TOP_FOLDERS = ("training_data", "validation_data", "testing_data")
VALIDATION_CSV = "validation_data/C-NMC_test_prelim_phase_data_labels.csv"
# Written by core.data.synthetic at the root of a generated tree, so models know they learned synthetic cells.
SYNTHETIC_MARKER = "SYNTHETIC_DATA.md"
# Folders whose contents are checked for stray entries, with the names expected there.
EXPECTED_ENTRIES = {
    ".": {*TOP_FOLDERS, SYNTHETIC_MARKER},
    "training_data": set(TRAINING_FOLDS),
    "validation_data": {Path(SPLIT_FOLDERS["validation"]).name, Path(VALIDATION_CSV).name},
    "testing_data": {Path(SPLIT_FOLDERS["test"]).name},
    **{SPLIT_FOLDERS[fold]: set(LABELS) for fold in TRAINING_FOLDS},
}
